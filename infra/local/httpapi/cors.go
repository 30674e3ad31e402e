package httpapi

import (
	"net/http"
	"strconv"
	"strings"
)

// CORS is an HttpApi CorsConfiguration.
type CORS struct {
	AllowOrigins     []string
	AllowMethods     []string
	AllowHeaders     []string
	ExposeHeaders    []string
	MaxAge           int
	AllowCredentials bool
}

// AllowOrigin returns the access-control-allow-origin value for origin, or
// "" when the origin is not allowed. "*" allows any origin; an entry like
// https://*.example.com allows its subdomains.
func (c *CORS) AllowOrigin(origin string) string {
	if c == nil || origin == "" {
		return ""
	}
	o := strings.ToLower(origin)
	for _, a := range c.AllowOrigins {
		a = strings.ToLower(strings.TrimSpace(a))
		switch {
		case a == "*":
			if c.AllowCredentials {
				return origin
			}
			return "*"
		case a == o:
			return origin
		case strings.Contains(a, "://*."):
			scheme, host, _ := strings.Cut(a, "://*.")
			if strings.HasPrefix(o, scheme+"://") && strings.HasSuffix(o, "."+host) {
				return origin
			}
		}
	}
	return ""
}

// IsPreflight reports whether r is a CORS preflight request.
func IsPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" &&
		r.Header.Get("Access-Control-Request-Method") != ""
}

// Preflight returns the headers API Gateway answers a preflight with (204);
// none when the origin is not allowed.
func (c *CORS) Preflight(r *http.Request) http.Header {
	h := http.Header{}
	allow := c.AllowOrigin(r.Header.Get("Origin"))
	if allow == "" {
		return h
	}
	h.Set("Access-Control-Allow-Origin", allow)
	if len(c.AllowMethods) > 0 {
		h.Set("Access-Control-Allow-Methods", strings.Join(c.AllowMethods, ","))
	}
	if len(c.AllowHeaders) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(c.AllowHeaders, ","))
	}
	if c.MaxAge > 0 {
		h.Set("Access-Control-Max-Age", strconv.Itoa(c.MaxAge))
	}
	if c.AllowCredentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	return h
}

// Apply sets the CORS headers of an actual (non-preflight) response: API
// Gateway drops the integration's own access-control-* headers and adds its
// own for allowed origins only.
func (c *CORS) Apply(origin string, h http.Header) {
	if c == nil {
		return
	}
	for k := range h {
		if strings.HasPrefix(strings.ToLower(k), "access-control-") {
			h.Del(k)
		}
	}
	allow := c.AllowOrigin(origin)
	if allow == "" {
		return
	}
	h.Set("Access-Control-Allow-Origin", allow)
	if c.AllowCredentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if len(c.ExposeHeaders) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(c.ExposeHeaders, ","))
	}
}
