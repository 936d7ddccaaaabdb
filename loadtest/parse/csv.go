package parse

import (
	"bytes"
	"fmt"
)

// csvReader reads delimiter-separated records with RFC 4180 quoting: quoted
// fields may hold the delimiter, doubled quotes and newlines. It is lenient
// where JMeter is sloppy (a quote inside an unquoted field is kept as text)
// and strict where data would be lost (an unterminated quote is an error).
// Field bytes live in one reused buffer, so a record costs no allocation.
type csvReader struct {
	lr      lineReader
	delim   byte
	buf     []byte
	ends    []int
	recLine int // first line of the last record
}

func newCSVReader(lr lineReader, delim byte) *csvReader {
	return &csvReader{lr: lr, delim: delim, buf: make([]byte, 0, 1024), ends: make([]int, 0, 32)}
}

// csvSyntaxError is a record that could not be split into fields. The reader
// has moved past it.
type csvSyntaxError struct {
	reason string
	msg    string
}

func (e *csvSyntaxError) Error() string { return e.msg }

// next reads one record, skipping blank lines. It returns io.EOF at the end
// and *csvSyntaxError for a record it skipped.
func (c *csvReader) next() error {
	c.buf = c.buf[:0]
	c.ends = c.ends[:0]
	var line []byte
	for {
		b, tooLong, err := c.lr.next()
		if err != nil {
			return err
		}
		c.recLine = c.lr.line
		if tooLong {
			return &csvSyntaxError{ReasonTooLong, fmt.Sprintf("line longer than %d bytes", c.lr.max)}
		}
		if len(b) > 0 {
			line = b
			break
		}
	}
	pos := 0
	for {
		if pos < len(line) && line[pos] == '"' {
			pos++
			for {
				i := bytes.IndexByte(line[pos:], '"')
				if i < 0 {
					// The quoted field goes on on the next line.
					c.buf = append(c.buf, line[pos:]...)
					c.buf = append(c.buf, '\n')
					if len(c.buf) > c.lr.max {
						return c.skipTo(fmt.Sprintf("quoted field longer than %d bytes; a quote is probably not closed", c.lr.max))
					}
					b, tooLong, err := c.lr.next()
					if err != nil {
						return &csvSyntaxError{ReasonSyntax, "quoted field not closed before the end of the file"}
					}
					if tooLong {
						return &csvSyntaxError{ReasonTooLong, fmt.Sprintf("line longer than %d bytes", c.lr.max)}
					}
					line, pos = b, 0
					continue
				}
				c.buf = append(c.buf, line[pos:pos+i]...)
				pos += i + 1
				if pos < len(line) && line[pos] == '"' {
					c.buf = append(c.buf, '"')
					pos++
					continue
				}
				break
			}
		}
		// Unquoted field, or text after a closing quote (kept, leniently).
		j := bytes.IndexByte(line[pos:], c.delim)
		if j < 0 {
			c.buf = append(c.buf, line[pos:]...)
			c.ends = append(c.ends, len(c.buf))
			return nil
		}
		c.buf = append(c.buf, line[pos:pos+j]...)
		c.ends = append(c.ends, len(c.buf))
		pos += j + 1
	}
}

func (c *csvReader) skipTo(msg string) error {
	return &csvSyntaxError{ReasonTooLong, msg}
}

// n is the number of fields in the last record.
func (c *csvReader) n() int { return len(c.ends) }

// field returns field i of the last record; valid until the next call of next.
func (c *csvReader) field(i int) []byte {
	start := 0
	if i > 0 {
		start = c.ends[i-1]
	}
	return c.buf[start:c.ends[i]]
}
