// Package mailbox is the local stack's view of the email the functions
// send. moto's SES v2 accepts SendEmail and keeps the message where
// nobody sees it: the stack's AWS endpoint hands every SendEmail moto
// accepted to a Box (SendEmail), which keeps the message under moto's
// MessageId and shows it on the stack's HTTP front (Handler):
//
//	GET    /_local/mail        newest first; JSON with Accept: application/json
//	                           ([{"id","from","to":[...],"subject","text","html","sent_at"}],
//	                           ?to= keeps the messages to one address), else an HTML page
//	GET    /_local/mail/{id}   one message (the HTML part in a sandboxed frame)
//	DELETE /_local/mail        empties the box (tests)
//
// Nothing leaves the machine: the box is the only mail server there is.
package mailbox

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"sync"
	"time"
)

// Path is where the stack's HTTP front serves the box.
const Path = "/_local/mail"

// DefaultMax is how many messages a box keeps (the oldest go first).
const DefaultMax = 2000

// Message is one email the functions sent, as the box shows it.
type Message struct {
	ID      string    `json:"id"`
	From    string    `json:"from"`
	To      []string  `json:"to"`
	Subject string    `json:"subject"`
	Text    string    `json:"text"`
	HTML    string    `json:"html"`
	SentAt  time.Time `json:"sent_at"`

	// Headers are the extra headers of the message (List-Unsubscribe,
	// ...); shown on its page, not in the JSON list.
	Headers map[string]string `json:"-"`
	ReplyTo []string          `json:"-"`
}

// Box keeps the messages; it is safe for concurrent use.
type Box struct {
	mu   sync.Mutex
	msgs []Message // oldest first
	max  int
	now  func() time.Time
}

// New returns an empty box keeping at most DefaultMax messages.
func New() *Box { return &Box{max: DefaultMax, now: time.Now} }

// sendEmailRequest is the part of the SES v2 SendEmail request kept.
type sendEmailRequest struct {
	FromEmailAddress string
	ReplyToAddresses []string
	Destination      struct{ ToAddresses, CcAddresses, BccAddresses []string }
	Content          struct {
		Simple *struct {
			Subject struct{ Data string }
			Body    struct {
				Text *struct{ Data string }
				Html *struct{ Data string }
			}
			Headers []struct{ Name, Value string }
		}
		Raw *struct{ Data string }
	}
}

// SendEmail keeps the message of an SES v2 SendEmail call moto accepted:
// request is the call's JSON body, response moto's ({"MessageId"}).
func (b *Box) SendEmail(request, response []byte) error {
	var out struct{ MessageId string }
	if err := json.Unmarshal(response, &out); err != nil || out.MessageId == "" {
		return fmt.Errorf("mailbox: SendEmail answer without a MessageId: %s", response)
	}
	var in sendEmailRequest
	if err := json.Unmarshal(request, &in); err != nil {
		return fmt.Errorf("mailbox: read SendEmail: %w", err)
	}
	m := Message{ID: out.MessageId, From: in.FromEmailAddress, ReplyTo: in.ReplyToAddresses, SentAt: b.now().UTC()}
	d := in.Destination
	m.To = append(append(append([]string{}, d.ToAddresses...), d.CcAddresses...), d.BccAddresses...)
	switch c := in.Content; {
	case c.Simple != nil:
		m.Subject = c.Simple.Subject.Data
		if c.Simple.Body.Text != nil {
			m.Text = c.Simple.Body.Text.Data
		}
		if c.Simple.Body.Html != nil {
			m.HTML = c.Simple.Body.Html.Data
		}
		for _, h := range c.Simple.Headers {
			if m.Headers == nil {
				m.Headers = map[string]string{}
			}
			m.Headers[h.Name] = h.Value
		}
	case c.Raw != nil:
		if err := readRaw(&m, c.Raw.Data); err != nil {
			return err
		}
	default:
		return errors.New("mailbox: SendEmail without Simple or Raw content")
	}
	b.add(m)
	return nil
}

func (b *Box) add(m Message) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.msgs = append(b.msgs, m)
	if len(b.msgs) > b.max {
		b.msgs = append([]Message(nil), b.msgs[len(b.msgs)-b.max:]...)
	}
}

// Messages lists the messages newest first; to, when set, keeps those
// with that recipient (the address, compared without case).
func (b *Box) Messages(to string) []Message {
	want := bare(to)
	b.mu.Lock()
	defer b.mu.Unlock()
	out := []Message{}
	for i := len(b.msgs) - 1; i >= 0; i-- {
		if want == "" || hasRecipient(b.msgs[i], want) {
			out = append(out, b.msgs[i])
		}
	}
	return out
}

// Message returns the message with id.
func (b *Box) Message(id string) (Message, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.msgs {
		if m.ID == id {
			return m, true
		}
	}
	return Message{}, false
}

// Reset empties the box.
func (b *Box) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.msgs = nil
}

func hasRecipient(m Message, want string) bool {
	for _, a := range m.To {
		if bare(a) == want {
			return true
		}
	}
	return false
}

// bare is the address of "Name <address>" (or the text), lower-cased.
func bare(a string) string {
	if p, err := mail.ParseAddress(a); err == nil {
		return strings.ToLower(p.Address)
	}
	return strings.ToLower(strings.TrimSpace(a))
}

// readRaw fills m from a base64 MIME message (SendEmail Raw content):
// its subject and sender, and its text/plain and text/html parts.
func readRaw(m *Message, data string) error {
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		raw = []byte(data) // the SDK sends the bytes base64-encoded; be lenient
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("mailbox: read raw message: %w", err)
	}
	dec := new(mime.WordDecoder)
	if s, err := dec.DecodeHeader(msg.Header.Get("Subject")); err == nil {
		m.Subject = s
	}
	if m.From == "" {
		m.From = msg.Header.Get("From")
	}
	if len(m.To) == 0 {
		if l, err := msg.Header.AddressList("To"); err == nil {
			for _, a := range l {
				m.To = append(m.To, a.Address)
			}
		}
	}
	return readPart(m, msg.Header.Get("Content-Type"), msg.Body, 0)
}

func readPart(m *Message, contentType string, body io.Reader, depth int) error {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = "text/plain"
	}
	if strings.HasPrefix(mt, "multipart/") && depth < 5 {
		r := multipart.NewReader(body, params["boundary"])
		for {
			p, err := r.NextPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("mailbox: read MIME part: %w", err)
			}
			if err := readPart(m, p.Header.Get("Content-Type"), p, depth+1); err != nil {
				return err
			}
		}
	}
	b, err := io.ReadAll(io.LimitReader(body, 4<<20))
	if err != nil {
		return fmt.Errorf("mailbox: read MIME body: %w", err)
	}
	switch {
	case mt == "text/html" && m.HTML == "":
		m.HTML = string(b)
	case mt == "text/plain" && m.Text == "":
		m.Text = string(b)
	}
	return nil
}
