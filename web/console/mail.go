package console

import (
	"html/template"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/mail"
	"github.com/referflow/referflow/internal/notify"
)

var signInHTML = template.Must(template.New("mail").Parse(`<!doctype html><html lang="en"><body>
<p>Someone asked to sign in to the Referflow operator console with this email address.</p>
<p><a href="{{.Link}}">Sign in to the console</a></p>
<p>The link works once, for {{.Expires}}. If you did not ask for it, ignore this email.</p>
</body></html>`))

// signInMail is the email carrying an operator's sign-in link.
func signInMail(from, to, link string, ttl time.Duration) mail.Message {
	expires := notify.Duration(ttl)
	var b strings.Builder
	_ = signInHTML.Execute(&b, struct{ Link, Expires string }{link, expires})
	return mail.Message{
		From: from, To: []string{to}, Subject: "Sign in to the Referflow console",
		Text: "Someone asked to sign in to the Referflow operator console with this email address.\n\n" +
			"Sign in: " + link + "\n\nThe link works once, for " + expires + ". If you did not ask for it, ignore this email.\n",
		HTML: b.String(),
		Tags: map[string]string{"kind": "console_sign_in"},
	}
}
