package mailbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/referflow/referflow/infra/local/awsapi"
	"github.com/referflow/referflow/infra/local/mailbox"
	"github.com/referflow/referflow/infra/local/moto"
	"github.com/referflow/referflow/infra/local/sam"
	"github.com/referflow/referflow/internal/mail"
)

func send(t *testing.T, b *mailbox.Box, id, from, to, subject string) {
	t.Helper()
	req, _ := json.Marshal(map[string]any{
		"FromEmailAddress": from,
		"Destination":      map[string]any{"ToAddresses": []string{to}},
		"Content": map[string]any{"Simple": map[string]any{
			"Subject": map[string]any{"Data": subject},
			"Body":    map[string]any{"Text": map[string]any{"Data": "text of " + subject}, "Html": map[string]any{"Data": "<p>html of " + subject + "</p>"}},
			"Headers": []map[string]string{{"Name": "List-Unsubscribe", "Value": "<https://x.example/p>"}},
		}},
	})
	if err := b.SendEmail(req, []byte(`{"MessageId":"`+id+`"}`)); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, h http.Handler, path, accept string) (int, http.Header, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Header(), rec.Body.String()
}

// The JSON list is the published contract: exactly these keys, newest first.
func TestJSONListIsTheContract(t *testing.T) {
	b := mailbox.New()
	h := b.Handler()
	if code, _, body := get(t, h, mailbox.Path, "application/json"); code != 200 || strings.TrimSpace(body) != "[]" {
		t.Fatalf("empty box: %d %s", code, body)
	}
	send(t, b, "m-1", "Acme <partners@example.com>", "ann@partner.example", "First")
	send(t, b, "m-2", "partners@example.com", "ops@example.com", "Second")
	code, hdr, body := get(t, h, mailbox.Path, "application/json")
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
		t.Fatalf("%d %s", code, hdr)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0]["id"] != "m-2" || got[1]["id"] != "m-1" {
		t.Fatalf("not newest first: %s", body)
	}
	var keys []string
	for k := range got[1] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"from", "html", "id", "sent_at", "subject", "text", "to"}; !slices.Equal(keys, want) {
		t.Errorf("keys %v, want exactly %v", keys, want)
	}
	want := map[string]any{"id": "m-1", "from": "Acme <partners@example.com>", "to": []any{"ann@partner.example"},
		"subject": "First", "text": "text of First", "html": "<p>html of First</p>"}
	for k, v := range want {
		if !reflect.DeepEqual(got[1][k], v) {
			t.Errorf("%s = %v, want %v", k, got[1][k], v)
		}
	}
	if _, err := time.Parse(time.RFC3339, got[1]["sent_at"].(string)); err != nil {
		t.Errorf("sent_at: %v", err)
	}
	_, _, body = get(t, h, mailbox.Path+"?to=ANN@partner.example", "application/json")
	if err := json.Unmarshal([]byte(body), &got); err != nil || len(got) != 1 || got[0]["id"] != "m-1" {
		t.Errorf("?to= filter: %s", body)
	}
}

func TestHTMLPagesForPeople(t *testing.T) {
	b := mailbox.New()
	h := b.Handler()
	send(t, b, "m-1", "partners@example.com", "ann@partner.example", `Hi <script>alert(1)</script>`)
	code, hdr, page := get(t, h, mailbox.Path, "text/html")
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
		t.Fatalf("%d %v", code, hdr)
	}
	for _, want := range []string{`<html lang="en">`, "<main>", `<label for="to">`, `href="/_local/mail/m-1"`, "Hi &lt;script&gt;"} {
		if !strings.Contains(page, want) {
			t.Errorf("list page lacks %s", want)
		}
	}
	if strings.Contains(page, "<script>") || !strings.Contains(hdr.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Error("the list page can run script")
	}
	code, _, page = get(t, h, mailbox.Path+"/m-1", "")
	if code != 200 {
		t.Fatalf("message page %d", code)
	}
	for _, want := range []string{`<iframe sandbox=""`, `srcdoc="&lt;p&gt;html of Hi &lt;script&gt;`, "<pre>text of Hi &lt;script&gt;", "List-Unsubscribe"} {
		if !strings.Contains(page, want) {
			t.Errorf("message page lacks %s:\n%s", want, page)
		}
	}
	if code, _, _ := get(t, h, mailbox.Path+"/nope", ""); code != 404 {
		t.Errorf("unknown message: %d", code)
	}
	if code, _, body := get(t, h, mailbox.Path+"/m-1", "application/json"); code != 200 || !strings.Contains(body, `"id":"m-1"`) {
		t.Errorf("one message as JSON: %d %s", code, body)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodDelete, mailbox.Path, nil))
	if rec.Code != http.StatusNoContent || len(b.Messages("")) != 0 {
		t.Errorf("DELETE: %d, %d left", rec.Code, len(b.Messages("")))
	}
}

func TestRawMessagesAreRead(t *testing.T) {
	b := mailbox.New()
	raw := "From: Acme <partners@example.com>\r\nTo: ann@partner.example\r\nSubject: =?utf-8?q?Caf=C3=A9?=\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=XX\r\n\r\n" +
		"--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain part\r\n" +
		"--XX\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>html part</p>\r\n--XX--\r\n"
	req, _ := json.Marshal(map[string]any{"Content": map[string]any{"Raw": map[string]any{"Data": []byte(raw)}}})
	if err := b.SendEmail(req, []byte(`{"MessageId":"r-1"}`)); err != nil {
		t.Fatal(err)
	}
	m, ok := b.Message("r-1")
	if !ok || m.Subject != "Café" || m.Text != "plain part" || m.HTML != "<p>html part</p>" || m.From != "Acme <partners@example.com>" || len(m.To) != 1 {
		t.Fatalf("raw message read as %+v", m)
	}
	if err := b.SendEmail(req, []byte(`{}`)); err == nil {
		t.Error("an answer without a MessageId was kept")
	}
}

func TestIdentitiesComeFromTheTemplate(t *testing.T) {
	tpl, err := sam.Load("testdata/template.yaml", sam.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := mailbox.Identities(tpl)
	if err != nil || !slices.Equal(ids, []string{"example.com", "support@help.example.com"}) {
		t.Fatalf("identities %v %v", ids, err)
	}
	tpl, _ = sam.Load("testdata/template.yaml", sam.Options{Parameters: map[string]string{"EmailDomain": "acme.example"}})
	if ids, _ := mailbox.Identities(tpl); ids[0] != "acme.example" {
		t.Errorf("with a parameter: %v", ids)
	}
}

// Through the stack's AWS endpoint and a real moto: mail from the
// template's identity is kept under moto's MessageId; mail moto refuses
// (an unverified sender) is refused to the function and kept nowhere.
func TestMotoAcceptedMailIsKept(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: this test starts moto (run without -short, as make test does)")
	}
	ctx := context.Background()
	port := freePort(t)
	srv, err := moto.Start(ctx, moto.Options{Port: port, LambdaPort: freePort(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	ep, err := awsapi.New(ctx, srv.URL, nil, log.New(io.Discard, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	box := mailbox.New()
	ep.Mail = box
	front := httptest.NewServer(ep.Handler("NotifyFunction", nil))
	defer front.Close()
	client := sesv2.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(front.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "testing", SecretAccessKey: "testing"}, nil
		})})
	tpl, err := sam.Load("testdata/template.yaml", sam.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mailbox.CreateIdentities(ctx, client, tpl); err != nil {
		t.Fatal(err)
	}
	sender := &mail.SES{Client: client}
	m := mail.Message{From: "Acme <partners@example.com>", To: []string{"ann@partner.example"}, Subject: "Hello",
		Text: "text", HTML: "<p>html</p>", Headers: map[string]string{"List-Unsubscribe": "<https://x.example/p>"}}
	id, err := sender.Send(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := box.Message(id)
	if !ok || got.From != m.From || !slices.Equal(got.To, m.To) || got.Subject != "Hello" || got.Text != "text" || got.HTML != "<p>html</p>" ||
		got.Headers["List-Unsubscribe"] != "<https://x.example/p>" {
		t.Fatalf("kept %+v (ok %v) for message %s", got, ok, id)
	}
	m.From = "someone@unverified.example"
	if _, err := sender.Send(ctx, m); !errors.Is(err, mail.ErrInvalid) {
		t.Errorf("an unverified sender: %v, want mail.ErrInvalid", err)
	}
	if n := len(box.Messages("")); n != 1 {
		t.Errorf("%d messages kept, want 1", n)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
