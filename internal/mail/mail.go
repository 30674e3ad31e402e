// Package mail sends email through Amazon SES (v2). It knows nothing of
// what an email says (internal/notify writes them); it guarantees that a
// message leaves with both an HTML and a text part, and that what SES
// refuses is reported as an error the caller can retry or give up on.
package mail

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
)

// Message is one email.
type Message struct {
	From    string   // "Name <address>" or an address
	ReplyTo []string // optional
	To      []string
	Subject string
	Text    string
	HTML    string
	// Headers are extra headers (List-Unsubscribe, ...); SES v2 simple
	// content carries them since 2024.
	Headers map[string]string
	// Tags are SES message tags (e.g. kind=referral_received) for
	// CloudWatch metrics per kind of email; ids only, never personal data.
	Tags map[string]string
}

// Sender sends a message.
type Sender interface {
	Send(ctx context.Context, m Message) (messageID string, err error)
}

// ErrInvalid is a message that cannot be sent as it is (no recipient, a
// malformed address): sending it again will not help.
var ErrInvalid = errors.New("mail: invalid message")

// Validate checks what SES would refuse without calling it.
func (m Message) Validate() error {
	if len(m.To) == 0 {
		return fmt.Errorf("%w: no recipient", ErrInvalid)
	}
	for _, a := range append(append([]string{m.From}, m.To...), m.ReplyTo...) {
		if _, err := mail.ParseAddress(a); err != nil {
			return fmt.Errorf("%w: address %q: %v", ErrInvalid, a, err)
		}
	}
	if strings.TrimSpace(m.Subject) == "" || m.Text == "" || m.HTML == "" {
		return fmt.Errorf("%w: a subject, a text and an HTML part are required", ErrInvalid)
	}
	return nil
}

// SESAPI is the part of the SES v2 API the sender uses.
type SESAPI interface {
	SendEmail(ctx context.Context, in *sesv2.SendEmailInput, opts ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

// SES sends through Amazon SES v2 (SendEmail, simple content).
type SES struct {
	Client SESAPI
	// ConfigurationSet, when set, names the SES configuration set (event
	// publishing of bounces and complaints).
	ConfigurationSet string
}

// Send sends m; a message SES rejects as malformed wraps ErrInvalid.
func (s *SES) Send(ctx context.Context, m Message) (string, error) {
	if err := m.Validate(); err != nil {
		return "", err
	}
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(m.From),
		Destination:      &types.Destination{ToAddresses: m.To},
		ReplyToAddresses: m.ReplyTo,
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: &types.Content{Data: aws.String(m.Subject), Charset: aws.String("UTF-8")},
			Body: &types.Body{
				Text: &types.Content{Data: aws.String(m.Text), Charset: aws.String("UTF-8")},
				Html: &types.Content{Data: aws.String(m.HTML), Charset: aws.String("UTF-8")},
			},
			Headers: headers(m.Headers),
		}},
		EmailTags: tags(m.Tags),
	}
	if s.ConfigurationSet != "" {
		in.ConfigurationSetName = aws.String(s.ConfigurationSet)
	}
	out, err := s.Client.SendEmail(ctx, in)
	if err != nil {
		var bad *types.BadRequestException
		var rejected *types.MessageRejected
		if errors.As(err, &bad) || errors.As(err, &rejected) {
			return "", fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		return "", fmt.Errorf("mail: send: %w", err)
	}
	return aws.ToString(out.MessageId), nil
}

func headers(h map[string]string) []types.MessageHeader {
	var out []types.MessageHeader
	for k, v := range h {
		out = append(out, types.MessageHeader{Name: aws.String(k), Value: aws.String(v)})
	}
	return out
}

func tags(t map[string]string) []types.MessageTag {
	var out []types.MessageTag
	for k, v := range t {
		out = append(out, types.MessageTag{Name: aws.String(k), Value: aws.String(v)})
	}
	return out
}
