package alert

import (
	"bufio"
	"net/textproto"
	"strings"
	"testing"
)

// FuzzMessageAddsNoHeader: whatever a subject holds (a message names an
// object, a reason from a web server), the mail has exactly its six
// headers, and the subject stays one line.
func FuzzMessageAddsNoHeader(f *testing.F) {
	f.Add("[aegir] site_down: @a.example", "answered 500")
	f.Add("x\r\nBcc: victim@example.com", "body\r\n.\r\nQUIT")
	f.Add("\n\n", "\r")
	f.Fuzz(func(t *testing.T, subject, body string) {
		msg := message("aegir@example.com", "ann@example.com", subject, body)
		r := textproto.NewReader(bufio.NewReader(strings.NewReader(string(msg))))
		h, err := r.ReadMIMEHeader()
		if err != nil {
			return // a subject that is not valid header text makes no extra header either
		}
		if len(h) != 6 || len(h.Values("Subject")) != 1 || h.Get("To") != "ann@example.com" {
			t.Fatalf("headers of subject %q: %v", subject, h)
		}
	})
}

// FuzzEmailAddress: an address that passes holds nothing that could end
// an SMTP command or a header.
func FuzzEmailAddress(f *testing.F) {
	f.Add("ann@example.com")
	f.Add("a@b\r\nRCPT TO:<x@y>")
	f.Add("<a@b>")
	f.Fuzz(func(t *testing.T, s string) {
		if emailAddress(s) && strings.ContainsAny(s, "\r\n<> ") {
			t.Fatalf("%q passed", s)
		}
	})
}
