package stack

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/referflow/referflow/infra/local/sam"
	"github.com/referflow/referflow/infra/local/site"
)

// The example marketing site (infra/local/site) runs on its own loopback
// origin, http://localhost:<port>, another site than the API's
// http://127.0.0.1:<port>: its embed loads a script from another origin and
// posts across origins, as on a real deployment.
const (
	// SitePortEnv sets the site's port.
	SitePortEnv = "REFERFLOW_LOCAL_SITE_PORT"
	// DefaultSiteOrigin is the site's origin when the stack runs on a fixed
	// API port (make run) and port 8080 is free: the one the example
	// programs name (landing page, thank-you page, site origin) and the
	// template's CorsAllowOrigins default allows.
	DefaultSiteOrigin = "http://localhost:8080"
	defaultSitePort   = 8080
	// corsParameter is the template parameter listing the marketing sites.
	corsParameter = "CorsAllowOrigins"
	// operatorsParameter lists the console's operators; locally LocalOperator.
	operatorsParameter = "OperatorEmails"
	// LocalOperator is the operator who signs in to the local console
	// (the link arrives at /_local/mail).
	LocalOperator = "ops@example.com"
)

// exampleSite is the example marketing site's listener and server.
type exampleSite struct {
	ln     net.Listener
	srv    *http.Server
	Origin string
}

// loadWithSite opens the example site's port and loads the template with
// the site's origin added to its CorsAllowOrigins parameter, as a
// deployment lists its marketing sites. The site's port is
// REFERFLOW_LOCAL_SITE_PORT, else 8080 when the API has a fixed port (a
// free one when 8080 is taken), else a free one.
func loadWithSite(cfg Config, logger *log.Logger) (*exampleSite, *sam.Template, error) {
	port := 0
	if cfg.Port != 0 {
		port = defaultSitePort
	}
	if v := cfg.Getenv(SitePortEnv); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 0 || p > 65535 {
			return nil, nil, fmt.Errorf("%s=%q is not a port", SitePortEnv, v)
		}
		port = p
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil && port == defaultSitePort && cfg.Getenv(SitePortEnv) == "" {
		logger.Printf("example site: port %d is taken; using a free port", port)
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("example site listener: %w", err)
	}
	s := &exampleSite{ln: ln, Origin: fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)}
	params := map[string]string{operatorsParameter: LocalOperator} // the local operator signs in to the console
	tpl, err := sam.Load(cfg.Template, sam.Options{Parameters: params})
	if err == nil {
		if origins, ok := tpl.Parameters[corsParameter]; ok && !listed(origins, s.Origin) {
			params[corsParameter] = origins + "," + s.Origin
			tpl, err = sam.Load(cfg.Template, sam.Options{Parameters: params})
		}
	}
	if err != nil {
		ln.Close()
		return nil, nil, err
	}
	return s, tpl, nil
}

func listed(list, origin string) bool {
	for _, o := range strings.Split(list, ",") {
		if strings.TrimSpace(o) == origin {
			return true
		}
	}
	return false
}

// serve starts the site's pages, their forms posting to the stack's API
// and its default program (the template's DefaultProgram parameter).
func (s *exampleSite) serve(st *Stack, logger *log.Logger) {
	h := site.Handler(site.Config{API: st.APIURL, Program: st.Template.Parameters["DefaultProgram"]})
	s.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: logger}
	go func() {
		if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Printf("example site: %v", err)
		}
	}()
}

// Close stops the site.
func (s *exampleSite) Close() {
	if s.srv != nil {
		_ = s.srv.Close()
		return
	}
	_ = s.ln.Close()
}

// printSummary adds the site's pages to the human summary.
func (s *exampleSite) printSummary(w io.Writer) {
	fmt.Fprintf(w, "  example site  %s%s   (the one-tag embed; %s without JavaScript, %s the site's own form; a referral link: <API>/r/<code>)\n",
		s.Origin, site.PathEmbed, site.PathPlain, site.PathOwn)
}

// SiteProgram points an example program file at the running example
// site: every DefaultSiteOrigin in it (landing page, thank-you page, site
// origin) becomes origin. Files that do not name the site are unchanged.
func SiteProgram(data []byte, origin string) []byte {
	if origin == "" || origin == DefaultSiteOrigin {
		return data
	}
	return bytes.ReplaceAll(data, []byte(DefaultSiteOrigin), []byte(origin))
}
