// Package salesforce is the Salesforce edge of the CRM ingestion path: it
// authenticates Outbound Messages (a secret token in the URL and an
// allowlist of organisation ids, as Outbound Messages carry no signature),
// parses their SOAP notifications into crm.Events, and writes the SOAP
// answers Salesforce expects (Ack, and a SOAP Fault to make it redeliver).
package salesforce

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/crm"
	"github.com/referflow/referflow/internal/money"
)

// Name is the provider name, the path segment of POST /webhooks/salesforce.
const Name = "salesforce"

// XML namespaces of an Outbound Message.
const (
	NamespaceSOAP     = "http://schemas.xmlsoap.org/soap/envelope/"
	NamespaceOutbound = "http://soap.sforce.com/2005/09/outbound"
	NamespaceSObject  = "urn:sobject.enterprise.soap.sforce.com"
	namespaceXSI      = "http://www.w3.org/2001/XMLSchema-instance"
)

// MaxNotifications is the most notifications one message may carry
// (Salesforce sends up to 100).
const MaxNotifications = 100

// TokenParam is the query parameter carrying the shared secret.
const TokenParam = "token"

// Defaults for the configurable field names.
const (
	DefaultReferralField = "Referral_Id__c"
	DefaultCurrencyField = "CurrencyIsoCode"
)

// Config configures the Salesforce adapter.
type Config struct {
	// Tokens are the accepted values of the token query parameter in the
	// endpoint URL, newest first; list two during a rotation. Required.
	Tokens []string
	// OrgIDs are the allowed organisation ids, 15 or 18 characters.
	// Required. Only the case-sensitive 15-character prefix is compared.
	OrgIDs []string
	// ReferralField is the Opportunity field carrying the referral id
	// (default "Referral_Id__c"); "-" disables it.
	ReferralField string
	// EmailField is the Opportunity field carrying the referee's email
	// (e.g. a formula field "Referee_Email__c"); "" disables it.
	EmailField string
	// PipelineField is the Opportunity field reported as the pipeline
	// (e.g. "RecordTypeId"); "" reports no pipeline.
	PipelineField string
	// CurrencyField is the amount's currency field (default
	// "CurrencyIsoCode", present in multi-currency orgs only).
	CurrencyField string
}

// Adapter authenticates and parses Outbound Messages. It implements
// crm.Adapter and crm.Acknowledger and is safe for concurrent use.
type Adapter struct {
	tokens   [][sha256.Size]byte
	orgs     []string // 15-character prefixes
	referral string
	email    string
	pipeline string
	currency string
	now      func() time.Time
}

var (
	_ crm.Adapter      = (*Adapter)(nil)
	_ crm.Acknowledger = (*Adapter)(nil)
)

// New returns an Adapter. now is the injected clock (Outbound Messages carry
// no timestamp to check; it is kept for symmetry with other adapters).
func New(cfg Config, now func() time.Time) (*Adapter, error) {
	a := &Adapter{referral: cfg.ReferralField, email: cfg.EmailField, pipeline: cfg.PipelineField, currency: cfg.CurrencyField, now: now}
	for _, t := range cfg.Tokens {
		if t = strings.TrimSpace(t); t != "" {
			a.tokens = append(a.tokens, sha256.Sum256([]byte(t)))
		}
	}
	if len(a.tokens) == 0 {
		return nil, errors.New("salesforce: at least one token is required")
	}
	for _, id := range cfg.OrgIDs {
		id = strings.TrimSpace(id)
		if id == "" {
			continue
		}
		if !validOrgID(id) {
			return nil, fmt.Errorf("salesforce: organisation id %q is not 15 or 18 alphanumeric characters", id)
		}
		a.orgs = append(a.orgs, id[:15])
	}
	if len(a.orgs) == 0 {
		return nil, errors.New("salesforce: at least one organisation id is required")
	}
	if now == nil {
		return nil, errors.New("salesforce: a clock is required")
	}
	if a.referral == "" {
		a.referral = DefaultReferralField
	} else if a.referral == "-" {
		a.referral = ""
	}
	if a.currency == "" {
		a.currency = DefaultCurrencyField
	}
	return a, nil
}

func validOrgID(id string) bool {
	if len(id) != 15 && len(id) != 18 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// Authenticate checks, before any event is parsed, that the URL carries a
// configured token (constant-time) and that the message's OrganizationId is
// allowed (first 15 characters, case-sensitive). Both failures wrap
// crm.ErrUnauthorized. A body whose OrganizationId cannot be read at all
// (not XML, DOCTYPE, not an Outbound Message) wraps crm.ErrMalformed.
func (a *Adapter) Authenticate(r crm.Request) error {
	u, err := url.Parse(r.URL)
	if err != nil {
		return fmt.Errorf("%w: request URL unreadable", crm.ErrUnauthorized)
	}
	tokens := u.Query()[TokenParam]
	if len(tokens) == 0 || tokens[0] == "" {
		return fmt.Errorf("%w: missing %s parameter", crm.ErrUnauthorized, TokenParam)
	}
	got := sha256.Sum256([]byte(tokens[0]))
	match := 0
	for i := range a.tokens {
		match |= subtle.ConstantTimeCompare(got[:], a.tokens[i][:])
	}
	if match != 1 {
		return fmt.Errorf("%w: wrong %s", crm.ErrUnauthorized, TokenParam)
	}
	org, err := organizationID(r.Body)
	if err != nil {
		return err
	}
	if !validOrgID(org) {
		return fmt.Errorf("%w: OrganizationId missing or malformed", crm.ErrUnauthorized)
	}
	allowed := 0
	for _, id := range a.orgs {
		allowed |= subtle.ConstantTimeCompare([]byte(org[:15]), []byte(id))
	}
	if allowed != 1 {
		return fmt.Errorf("%w: organisation %s not allowed", crm.ErrUnauthorized, org[:15])
	}
	return nil
}

// organizationID reads only as far as notifications/OrganizationId.
func organizationID(body []byte) (string, error) {
	if err := rejectDTD(body); err != nil {
		return "", err
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	var path []xml.Name
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return "", fmt.Errorf("%w: no OrganizationId", crm.ErrMalformed)
		}
		if err != nil {
			return "", fmt.Errorf("%w: %v", crm.ErrMalformed, err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return "", fmt.Errorf("%w: XML directives (DOCTYPE, ENTITY) are not accepted", crm.ErrMalformed)
		case xml.StartElement:
			path = append(path, t.Name)
			if len(path) == 4 && t.Name == (xml.Name{Space: NamespaceOutbound, Local: "OrganizationId"}) &&
				path[0] == (xml.Name{Space: NamespaceSOAP, Local: "Envelope"}) &&
				path[1] == (xml.Name{Space: NamespaceSOAP, Local: "Body"}) &&
				path[2] == (xml.Name{Space: NamespaceOutbound, Local: "notifications"}) {
				var id string
				if err := d.DecodeElement(&id, &t); err != nil {
					return "", fmt.Errorf("%w: %v", crm.ErrMalformed, err)
				}
				return strings.TrimSpace(id), nil
			}
			if len(path) > 4 || len(path) == 4 && t.Name.Local == "Notification" {
				// OrganizationId comes before the notifications.
				return "", fmt.Errorf("%w: no OrganizationId", crm.ErrMalformed)
			}
		case xml.EndElement:
			if len(path) > 0 {
				path = path[:len(path)-1]
			}
		}
	}
}

// rejectDTD refuses any document type declaration or entity declaration
// before parsing (encoding/xml never expands external entities, but such a
// message is never a genuine Outbound Message).
func rejectDTD(body []byte) error {
	for rest := body; ; {
		i := bytes.Index(rest, []byte("<!"))
		if i < 0 {
			return nil
		}
		rest = rest[i+2:]
		for _, kw := range []string{"DOCTYPE", "ENTITY", "ELEMENT", "ATTLIST"} {
			if len(rest) >= len(kw) && strings.EqualFold(string(rest[:len(kw)]), kw) {
				return fmt.Errorf("%w: XML directives (DOCTYPE, ENTITY) are not accepted", crm.ErrMalformed)
			}
		}
	}
}

// envelope is the part of an Outbound Message Parse reads.
type envelope struct {
	XMLName xml.Name `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
	Body    struct {
		Notifications *struct {
			OrganizationID string         `xml:"http://soap.sforce.com/2005/09/outbound OrganizationId"`
			ActionID       string         `xml:"http://soap.sforce.com/2005/09/outbound ActionId"`
			Notification   []notification `xml:"http://soap.sforce.com/2005/09/outbound Notification"`
		} `xml:"http://soap.sforce.com/2005/09/outbound notifications"`
	} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
}

type notification struct {
	ID      string `xml:"http://soap.sforce.com/2005/09/outbound Id"`
	SObject *struct {
		Type   string  `xml:"http://www.w3.org/2001/XMLSchema-instance type,attr"`
		Fields []field `xml:",any"`
	} `xml:"http://soap.sforce.com/2005/09/outbound sObject"`
}

type field struct {
	XMLName xml.Name
	Nil     string `xml:"http://www.w3.org/2001/XMLSchema-instance nil,attr"`
	Value   string `xml:",chardata"`
}

// Parse turns an authenticated Outbound Message into one event per
// notification, in order. Opportunities become KindStageChanged events;
// other sObjects and unusable notifications become KindIgnored. A body that
// is not an Outbound Message, carries a DOCTYPE, or has more than
// MaxNotifications notifications wraps crm.ErrMalformed.
func (a *Adapter) Parse(r crm.Request) ([]crm.Event, error) {
	if err := rejectDTD(r.Body); err != nil {
		return nil, err
	}
	if n := bytes.Count(r.Body, []byte("Notification>")); n > 2*MaxNotifications+2 {
		// Cheap early refusal of oversized messages (open+close tags).
		return nil, fmt.Errorf("%w: more than %d notifications", crm.ErrMalformed, MaxNotifications)
	}
	var env envelope
	if err := xml.Unmarshal(r.Body, &env); err != nil {
		return nil, fmt.Errorf("%w: %v", crm.ErrMalformed, err)
	}
	ns := env.Body.Notifications
	if ns == nil {
		return nil, fmt.Errorf("%w: no notifications element", crm.ErrMalformed)
	}
	if len(ns.Notification) > MaxNotifications {
		return nil, fmt.Errorf("%w: %d notifications (max %d)", crm.ErrMalformed, len(ns.Notification), MaxNotifications)
	}
	events := make([]crm.Event, 0, len(ns.Notification))
	for i := range ns.Notification {
		events = append(events, a.event(&ns.Notification[i], r.Body, i))
	}
	return events, nil
}

func (a *Adapter) event(n *notification, body []byte, index int) crm.Event {
	ev := crm.Event{Provider: Name, Kind: crm.KindIgnored, ID: strings.TrimSpace(n.ID)}
	if ev.ID == "" {
		sum := sha256.Sum256(body)
		ev.ID = "body-sha256:" + hex.EncodeToString(sum[:16]) + ":" + strconv.Itoa(index)
	}
	if n.SObject == nil {
		return ev
	}
	fields := make(map[string]string, len(n.SObject.Fields))
	for _, f := range n.SObject.Fields {
		if f.XMLName.Space != NamespaceSObject || f.Nil == "true" {
			continue
		}
		fields[f.XMLName.Local] = strings.TrimSpace(f.Value)
	}
	ev.RecordID = fields["Id"]
	_, typ, _ := strings.Cut(n.SObject.Type, ":")
	if typ == "" {
		typ = n.SObject.Type
	}
	if typ != "Opportunity" || ev.RecordID == "" || n.ID == "" {
		return ev
	}
	m, err := money.Parse(fields["Amount"], fields[a.currency])
	if err != nil {
		return ev // an unreadable amount: the notification is ignored
	}
	ev.Kind = crm.KindStageChanged
	ev.Stage = fields["StageName"]
	ev.Amount = m
	if a.pipeline != "" {
		ev.Pipeline = fields[a.pipeline]
	}
	isWon, hasWon := fields["IsWon"]
	isClosed, hasClosed := fields["IsClosed"]
	switch {
	case isWon == "true":
		ev.Status = crm.StatusWon
	case isClosed == "true":
		ev.Status = crm.StatusLost
	case hasWon || hasClosed:
		ev.Status = crm.StatusOpen
	}
	if a.referral != "" {
		ev.ReferralID = fields[a.referral]
	}
	if a.email != "" {
		ev.Email = strings.ToLower(fields[a.email])
	}
	for _, f := range []string{"LastModifiedDate", "SystemModstamp"} {
		if t, err := time.Parse(time.RFC3339Nano, fields[f]); err == nil {
			ev.OccurredAt = t.UTC()
			break
		}
	}
	return ev
}

// ContentType is the content type of both SOAP answers.
const ContentType = "text/xml; charset=utf-8"

const ackBody = `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>`

// Ack is the answer (with HTTP 200) telling Salesforce the whole message
// was received; without it Salesforce redelivers.
func (a *Adapter) Ack() (string, []byte) { return ContentType, []byte(ackBody) }

// Nack is a SOAP 1.1 Server fault carrying message; send it with HTTP 500
// so Salesforce redelivers the message later.
func (a *Adapter) Nack(message string) (string, []byte) {
	var b bytes.Buffer
	b.WriteString(`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><soapenv:Fault><faultcode>soapenv:Server</faultcode><faultstring>`)
	_ = xml.EscapeText(&b, []byte(message))
	b.WriteString(`</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>`)
	return ContentType, b.Bytes()
}
