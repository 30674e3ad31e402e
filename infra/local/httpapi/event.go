package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Event is an API Gateway HTTP API payload format 2.0 request event, with
// the field names and omissions AWS uses.
type Event struct {
	Version               string            `json:"version"`
	RouteKey              string            `json:"routeKey"`
	RawPath               string            `json:"rawPath"`
	RawQueryString        string            `json:"rawQueryString"`
	Cookies               []string          `json:"cookies,omitempty"`
	Headers               map[string]string `json:"headers"`
	QueryStringParameters map[string]string `json:"queryStringParameters,omitempty"`
	PathParameters        map[string]string `json:"pathParameters,omitempty"`
	RequestContext        RequestContext    `json:"requestContext"`
	Body                  *string           `json:"body,omitempty"`
	IsBase64Encoded       bool              `json:"isBase64Encoded"`
}

// RequestContext is the requestContext of a 2.0 event.
type RequestContext struct {
	AccountID    string         `json:"accountId"`
	APIID        string         `json:"apiId"`
	Authorizer   map[string]any `json:"authorizer,omitempty"`
	DomainName   string         `json:"domainName"`
	DomainPrefix string         `json:"domainPrefix"`
	HTTP         HTTPContext    `json:"http"`
	RequestID    string         `json:"requestId"`
	RouteKey     string         `json:"routeKey"`
	Stage        string         `json:"stage"`
	Time         string         `json:"time"`
	TimeEpoch    int64          `json:"timeEpoch"`
}

// HTTPContext is requestContext.http of a 2.0 event.
type HTTPContext struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Protocol  string `json:"protocol"`
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

// EventInput is what BuildEvent needs besides the request.
type EventInput struct {
	Route      Route
	PathParams map[string]string
	APIID      string
	AccountID  string
	RequestID  string
	TraceID    string // x-amzn-trace-id added when the request has none
	Now        time.Time
	Body       []byte
}

// BuildEvent turns a request into the 2.0 event AWS would send: headers
// lower-cased with repeated values comma-joined, cookies moved out of the
// headers, query parameters decoded and comma-joined, the body base64
// encoded unless its content type is text.
func BuildEvent(r *http.Request, in EventInput) Event {
	headers := map[string]string{}
	for k, vs := range r.Header {
		lk := strings.ToLower(k)
		if lk == "cookie" {
			continue
		}
		headers[lk] = strings.Join(vs, ",")
	}
	host := r.Host
	headers["host"] = host
	srcIP, port := clientAddr(r)
	if _, ok := headers["x-forwarded-for"]; ok {
		headers["x-forwarded-for"] += ", " + srcIP
	} else {
		headers["x-forwarded-for"] = srcIP
	}
	headers["x-forwarded-proto"] = "http"
	if _, p, err := net.SplitHostPort(host); err == nil {
		headers["x-forwarded-port"] = p
	} else {
		headers["x-forwarded-port"] = port
	}
	if _, ok := headers["x-amzn-trace-id"]; !ok {
		headers["x-amzn-trace-id"] = in.TraceID
	}
	if len(in.Body) > 0 {
		headers["content-length"] = strconv.Itoa(len(in.Body))
	}

	var cookies []string
	for _, c := range r.Header.Values("Cookie") {
		for _, part := range strings.Split(c, ";") {
			if part = strings.TrimSpace(part); part != "" {
				cookies = append(cookies, part)
			}
		}
	}

	var qs map[string]string
	if r.URL.RawQuery != "" {
		qs = map[string]string{}
		vals, _ := url.ParseQuery(r.URL.RawQuery)
		keys := make([]string, 0, len(vals))
		for k := range vals {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			qs[k] = strings.Join(vals[k], ",")
		}
	}

	domain, _, err := net.SplitHostPort(host)
	if err != nil {
		domain = host
	}
	prefix, _, _ := strings.Cut(domain, ".")
	ev := Event{
		Version:               "2.0",
		RouteKey:              in.Route.Key(),
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: qs,
		PathParameters:        in.PathParams,
		RequestContext: RequestContext{
			AccountID:    in.AccountID,
			APIID:        in.APIID,
			DomainName:   domain,
			DomainPrefix: prefix,
			HTTP: HTTPContext{
				Method:    r.Method,
				Path:      r.URL.EscapedPath(),
				Protocol:  r.Proto,
				SourceIP:  srcIP,
				UserAgent: r.UserAgent(),
			},
			RequestID: in.RequestID,
			RouteKey:  in.Route.Key(),
			Stage:     "$default",
			Time:      in.Now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch: in.Now.UnixMilli(),
		},
	}
	if len(ev.PathParameters) == 0 {
		ev.PathParameters = nil
	}
	if in.Route.IAM {
		ev.RequestContext.Authorizer = map[string]any{"iam": map[string]any{
			"accessKey":       "ASIALOCALADMIN000000",
			"accountId":       in.AccountID,
			"callerId":        "AROALOCALADMIN000000:local-admin",
			"principalOrgId":  nil,
			"userArn":         "arn:aws:sts::" + in.AccountID + ":assumed-role/local-admin/local-admin",
			"userId":          "AROALOCALADMIN000000:local-admin",
			"cognitoIdentity": nil,
		}}
	}
	if len(in.Body) > 0 {
		var body string
		if IsTextContentType(r.Header.Get("Content-Type")) {
			body = string(in.Body)
		} else {
			body = base64.StdEncoding.EncodeToString(in.Body)
			ev.IsBase64Encoded = true
		}
		ev.Body = &body
	}
	return ev
}

func clientAddr(r *http.Request) (ip, port string) {
	ip, port, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr, ""
	}
	return ip, port
}

// IsTextContentType reports whether API Gateway passes a body of this
// content type as text rather than base64: text/*, JSON, XML, JavaScript
// and their +json/+xml variants. Everything else (including form posts and
// a missing content type) arrives base64 encoded.
func IsTextContentType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"):
		return true
	case mt == "application/json", mt == "application/xml", mt == "application/javascript",
		mt == "application/x-javascript", mt == "application/ecmascript",
		strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"):
		return true
	}
	return false
}

// Response is a mapped function result.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// MapResponse turns a function result into the HTTP response API Gateway
// sends for payload format 2.0: a structured {statusCode, headers,
// multiValueHeaders, cookies, body, isBase64Encoded} object is used as is;
// any other valid JSON is sent with status 200 as application/json.
func MapResponse(payload []byte) (Response, error) {
	var probe any
	if err := json.Unmarshal(payload, &probe); err != nil {
		return Response{}, fmt.Errorf("function result is not JSON: %w", err)
	}
	obj, ok := probe.(map[string]any)
	if _, has := obj["statusCode"]; !ok || !has {
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		return Response{Status: http.StatusOK, Header: h, Body: payload}, nil
	}
	var structured struct {
		StatusCode        json.Number      `json:"statusCode"`
		Headers           map[string]any   `json:"headers"`
		MultiValueHeaders map[string][]any `json:"multiValueHeaders"`
		Cookies           []string         `json:"cookies"`
		Body              *string          `json:"body"`
		IsBase64Encoded   bool             `json:"isBase64Encoded"`
	}
	dec := json.NewDecoder(strings.NewReader(string(payload)))
	dec.UseNumber()
	if err := dec.Decode(&structured); err != nil {
		return Response{}, fmt.Errorf("malformed structured response: %w", err)
	}
	status, err := strconv.Atoi(structured.StatusCode.String())
	if err != nil || status < 100 || status > 599 {
		return Response{}, fmt.Errorf("malformed statusCode %q", structured.StatusCode)
	}
	h := http.Header{}
	for k, vs := range structured.MultiValueHeaders {
		for _, v := range vs {
			h.Add(k, fmt.Sprint(v))
		}
	}
	for k, v := range structured.Headers {
		h.Set(k, fmt.Sprint(v))
	}
	for _, c := range structured.Cookies {
		h.Add("Set-Cookie", c)
	}
	var body []byte
	if structured.Body != nil {
		if structured.IsBase64Encoded {
			body, err = base64.StdEncoding.DecodeString(*structured.Body)
			if err != nil {
				return Response{}, fmt.Errorf("body is not base64: %w", err)
			}
		} else {
			body = []byte(*structured.Body)
		}
	}
	return Response{Status: status, Header: h, Body: body}, nil
}
