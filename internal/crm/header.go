package crm

import (
	"net/http"
	"strings"
)

// HeaderValues returns every value of the named header. It accepts maps built
// with canonical keys (net/http) as well as raw lower-case keys (API Gateway
// events), so the adapter does not depend on how the handler filled Headers.
func HeaderValues(h http.Header, name string) []string {
	if v := h.Values(name); len(v) > 0 {
		return v
	}
	var out []string
	for k, v := range h {
		if strings.EqualFold(k, name) {
			out = append(out, v...)
		}
	}
	return out
}

// Header returns the first non-empty value of the named header, trimmed.
func Header(h http.Header, name string) string {
	for _, v := range HeaderValues(h, name) {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}
