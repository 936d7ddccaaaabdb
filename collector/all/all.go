// Package all imports every collector package so that their init functions
// register them. Each collector package adds a file here with one blank
// import, so parallel work never edits the same file.
package all
