// Package all imports every collector package so that their init functions
// register them. Each collector package adds a file here with one blank
// import, so parallel work never edits the same file. A collector that reads
// from a path the user gives (--logs.path, --loadtest.file) also declares
// that flag here with collector.EnabledBy, so the flag alone enables it.
package all
