package awsapi

import (
	"bytes"
	"io"
	"net/http"
)

// MailSink is handed every SES v2 SendEmail call moto answered 200, with
// the call's request and response bodies (infra/local/mailbox keeps the
// message: moto stores it where nobody sees it).
type MailSink interface {
	SendEmail(request, response []byte) error
}

// sendEmailPath is SES v2's SendEmail (REST-JSON, POST).
const sendEmailPath = "/v2/email/outbound-emails"

func isSendEmail(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Path == sendEmailPath
}

// serveSendEmail proxies a SendEmail call to moto and hands what moto
// accepted to Mail; what moto refuses (an unverified sender) is answered
// as moto answered it and kept nowhere.
func (e *Endpoint) serveSendEmail(w http.ResponseWriter, r *http.Request, caller string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 40<<20))
	if err != nil {
		writeAWSError(w, http.StatusBadRequest, "BadRequestException", err.Error())
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	e.proxy.ServeHTTP(rec, r)
	if rec.status != http.StatusOK {
		return
	}
	if err := e.Mail.SendEmail(body, rec.body.Bytes()); err != nil {
		e.log.Printf("SendEmail from %s: %v", caller, err)
	}
}
