package parse

import (
	"bufio"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kubepulse/kubepulse/loadtest"
)

// xmlFrame is one open <httpSample> or <sample>. Nested samples are kept:
// under a transaction they are the requests it groups; under a request they
// are its sub-results (redirects, embedded resources), part of the parent.
type xmlFrame struct {
	s        loadtest.Sample
	users    int64
	txn      bool
	ok       bool // attributes parsed; a bad one was reported already
	children []xmlFrame
}

type xmlAssertion struct {
	Failure bool `xml:"failure"`
	Error   bool `xml:"error"`
}

// parseJMeterXML reads the XML .jtl format (jmeter.save.saveservice.output_format=xml).
// XML cannot be resynchronised after a syntax error, so one ends the parse;
// a file cut off between samples (JMeter killed before writing
// </testResults>) is not an error.
func parseJMeterXML(br *bufio.Reader, o Options, sink Sink) error {
	d := xml.NewDecoder(br)
	d.Strict = true
	run := o.run()
	var stack []xmlFrame
	labels := map[string]string{}
	codes := map[string]string{}
	for {
		tok, err := d.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			line, _ := d.InputPos()
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				if strings.Contains(se.Msg, "unexpected EOF") && len(stack) == 0 {
					return nil
				}
				sink.Error(&Error{File: o.File, Line: se.Line, Reason: ReasonSyntax, Msg: "XML syntax error: " + se.Msg,
					Fix: "the rest of the file is not read; an XML .jtl must be well-formed (CSV output survives partial writes better)"})
				return nil
			}
			_ = line
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "httpSample", "sample":
				line, _ := d.InputPos()
				f := xmlFrame{ok: true}
				if err := xmlAttrs(&f, t.Attr, o, labels, codes); err != nil {
					f.ok = false
					sink.Error(&Error{File: o.File, Line: line, Reason: err.reason, Msg: err.msg})
				}
				f.s.Run = run
				stack = append(stack, f)
			case "assertionResult":
				var a xmlAssertion
				if err := d.DecodeElement(&a, &t); err != nil {
					continue // the next Token reports the syntax error
				}
				if (a.Failure || a.Error) && len(stack) > 0 {
					stack[len(stack)-1].s.Success = false
				}
			case "testResults":
			default:
				if len(stack) > 0 {
					// responseData, headers, cookies...: not needed.
					if err := d.Skip(); err != nil {
						continue
					}
				}
			}
		case xml.EndElement:
			if (t.Name.Local == "httpSample" || t.Name.Local == "sample") && len(stack) > 0 {
				f := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				if len(stack) > 0 {
					p := &stack[len(stack)-1]
					p.children = append(p.children, f)
					continue
				}
				if f.ok && f.users >= 0 {
					sink.Users(run, float64(f.users), f.s.Time)
				}
				emitXML(&f, o.Transactions, sink)
			}
		}
	}
}

func emitXML(f *xmlFrame, mode TransactionMode, sink Sink) {
	if !f.ok {
		return
	}
	if !f.txn {
		if mode.keep(false) {
			sink.Sample(&f.s)
		}
		return
	}
	if mode.keep(true) {
		sink.Sample(&f.s)
	}
	for i := range f.children {
		emitXML(&f.children[i], mode, sink)
	}
}

type attrErr struct{ reason, msg string }

func xmlAttrs(f *xmlFrame, attrs []xml.Attr, o Options, labels, codes map[string]string) *attrErr {
	var elapsed, ts int64 = -1, -1
	f.users = -1
	f.s.Success = true
	haveS := false
	var rm string
	for _, a := range attrs {
		v := a.Value
		switch a.Name.Local {
		case "t":
			n, ok := parseInt([]byte(v))
			if !ok || n < 0 || n > maxElapsedMs {
				return &attrErr{ReasonNumber, fmt.Sprintf("t=%q is not a number of milliseconds", v)}
			}
			elapsed = n
		case "ts":
			n, ok := parseInt([]byte(v))
			if !ok {
				return &attrErr{ReasonTimestamp, fmt.Sprintf("ts=%q is not epoch milliseconds", v)}
			}
			ts = n
		case "s":
			switch strings.ToLower(v) {
			case "true":
			case "false":
				f.s.Success = false
			default:
				return &attrErr{ReasonValue, fmt.Sprintf("s=%q is neither true nor false", v)}
			}
			haveS = true
		case "lb":
			f.s.Label = internS(labels, v)
		case "rc":
			f.s.Code = internS(codes, v)
		case "rm":
			rm = v
		case "by", "sby", "na":
			n, ok := parseInt([]byte(v))
			if !ok {
				return &attrErr{ReasonNumber, fmt.Sprintf("%s=%q is not a number", a.Name.Local, v)}
			}
			switch a.Name.Local {
			case "by":
				f.s.BytesReceived = n
			case "sby":
				f.s.BytesSent = n
			default:
				f.users = n
			}
		}
	}
	if elapsed < 0 {
		return &attrErr{ReasonValue, "sample has no t (elapsed) attribute"}
	}
	if !haveS {
		f.s.Success = len(f.s.Code) == 3 && (f.s.Code[0] == '2' || f.s.Code[0] == '3')
	}
	f.s.Elapsed = time.Duration(elapsed) * time.Millisecond
	if ts >= 0 {
		f.s.Time = time.UnixMilli(ts).Add(f.s.Elapsed)
	}
	f.txn = strings.HasPrefix(rm, string(transactionMessage)) ||
		(o.TransactionLabel != nil && o.TransactionLabel.MatchString(f.s.Label))
	return nil
}

func internS(m map[string]string, s string) string {
	if v, ok := m[s]; ok {
		return v
	}
	if len(m) < 10000 {
		m[s] = s
	}
	return s
}
