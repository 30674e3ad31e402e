// Package links holds the rules of referral links (GET /r/{code}) that do
// not touch storage: which requests count as a person's click, and where a
// link sends its visitor. It is pure: the links function and its tests
// give it headers, URLs and programs.
package links

import (
	"net/http"
	"strings"
)

// botTokens are User-Agent fragments (matched case-insensitively) of
// crawlers, link unfurlers, monitors and HTTP libraries: their requests
// follow the redirect but are never counted as a click. Keep the list
// sorted by kind; add a fragment when a tool shows up in the counts.
var botTokens = []string{
	// Search and AI crawlers.
	"googlebot", "google-inspectiontool", "googleother", "adsbot-google", "mediapartners-google",
	"bingbot", "bingpreview", "msnbot", "baiduspider", "duckduckbot",
	"applebot", "petalbot", "gptbot", "chatgpt-user", "claudebot", "perplexitybot", "ccbot", "bytespider",
	"ahrefsbot", "semrushbot", "mj12bot", "dotbot",
	// Link unfurlers of chat and social apps.
	"slackbot", "slack-imgproxy", "linkedinbot", "facebookexternalhit", "facebot", "meta-externalagent",
	"twitterbot", "whatsapp", "discordbot", "telegrambot", "skypeuripreview", "microsoftpreview",
	"teamsbot", "redditbot", "embedly", "iframely", "vkshare",
	// Mail security scanners that open every link.
	"barracuda", "proofpoint", "mimecast",
	// HTTP libraries and command-line tools.
	"curl/", "wget/", "python-requests", "python-urllib", "aiohttp", "go-http-client", "java/",
	"okhttp", "apache-httpclient", "axios/", "node-fetch", "undici", "libwww-perl", "httpie",
	"postmanruntime", "insomnia",
	// Headless browsers and uptime monitors.
	"headlesschrome", "phantomjs", "puppeteer", "playwright", "lighthouse", "pingdom",
	"uptimerobot", "statuscake", "datadog",
	// Generic words crawlers put in their names.
	"bot", "crawler", "spider", "preview", "scraper", "fetcher", "monitor",
}

// IsBot reports whether a User-Agent is a crawler, a link unfurler, a
// library or a headless browser rather than a person's browser. An empty
// User-Agent is a bot: browsers always send one.
func IsBot(userAgent string) bool {
	ua := strings.ToLower(strings.TrimSpace(userAgent))
	if ua == "" {
		return true
	}
	for _, t := range botTokens {
		if strings.Contains(ua, t) {
			return true
		}
	}
	return false
}

// IsPrefetch reports whether a request is a browser's speculative load
// (prefetch, prerender, a link preview) rather than a person following the
// link: Purpose/Sec-Purpose prefetch or prerender, X-Purpose preview,
// X-Moz prefetch.
func IsPrefetch(h http.Header) bool {
	for _, name := range []string{"Purpose", "Sec-Purpose", "X-Purpose", "X-Moz"} {
		v := strings.ToLower(h.Get(name))
		if strings.Contains(v, "prefetch") || strings.Contains(v, "prerender") || strings.Contains(v, "preview") {
			return true
		}
	}
	return false
}

// Counts reports whether a request to /r/{code} is a click to count: a GET
// (not HEAD) from a person's browser that is not prefetching. Requests
// that do not count are still redirected.
func Counts(method string, h http.Header) bool {
	return method == http.MethodGet && !IsBot(h.Get("User-Agent")) && !IsPrefetch(h)
}
