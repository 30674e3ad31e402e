// Package awsapi is the local stack's AWS endpoint: it serves the Lambda
// Invoke API from the local function pools and reverse-proxies every other
// AWS request to moto unchanged, counting each operation per caller.
package awsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/referflow/referflow/infra/local/fault"
	"github.com/referflow/referflow/infra/local/lambdaemu"
	"github.com/referflow/referflow/infra/local/meter"
)

// maxInvokePayload is Lambda's synchronous request payload limit.
const maxInvokePayload = 6 << 20

// acquireTimeout bounds how long an invoke waits for a free instance when a
// function is at its concurrency cap before answering 429 like Lambda.
const acquireTimeout = 10 * time.Second

// Endpoint serves AWS API requests.
type Endpoint struct {
	moto  *url.URL
	pools map[string]*lambdaemu.Pool // by name, logical id and ARN
	meter *meter.Meter
	log   *log.Logger
	proxy *httputil.ReverseProxy
	// async tracks Event invocations so Wait can drain them.
	asyncCtx context.Context
	// Faults injects the failures of a fault plan (nil: none).
	Faults *fault.Injector
	// Events also gets every PutEvents call moto accepts (nil: none), to
	// deliver the events to rule targets as EventBridge would.
	Events EventsSink
	// Mail also gets every SES v2 SendEmail call moto accepts (nil: none),
	// to show the message in the local mailbox (mail.go).
	Mail MailSink
}

// EventsSink is handed every PutEvents call moto answered 200 with the
// call's request and response bodies; it returns how many entries it took.
type EventsSink interface {
	PutEvents(request, response []byte) (int, error)
}

// New returns an endpoint proxying to the moto server at motoURL.
func New(ctx context.Context, motoURL string, m *meter.Meter, logger *log.Logger) (*Endpoint, error) {
	u, err := url.Parse(motoURL)
	if err != nil {
		return nil, fmt.Errorf("moto URL: %w", err)
	}
	e := &Endpoint{moto: u, pools: map[string]*lambdaemu.Pool{}, meter: m, log: logger, asyncCtx: ctx}
	e.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = pr.In.Host // keep the signed Host header as is
		},
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second},
		ErrorLog:  logger,
	}
	return e, nil
}

// AddPool makes a function invokable by its name, logical id and ARN.
func (e *Endpoint) AddPool(p *lambdaemu.Pool) {
	fn := p.Function()
	e.pools[fn.Name] = p
	e.pools[fn.LogicalID] = p
	e.pools[fn.ARN] = p
}

// Pool finds a function by name, logical id, or (partial) ARN, with an
// optional :qualifier.
func (e *Endpoint) Pool(nameOrARN string) (*lambdaemu.Pool, bool) {
	if p, ok := e.pools[nameOrARN]; ok {
		return p, true
	}
	name := nameOrARN
	if _, after, ok := strings.Cut(name, ":function:"); ok {
		name = after
	}
	name, _, _ = strings.Cut(name, ":")
	p, ok := e.pools[name]
	return p, ok
}

// Handler returns the endpoint as seen by one caller: a function's logical
// id (with current reporting the invocation it runs) or meter.StatesCaller.
func (e *Endpoint) Handler(caller string, current func() string) http.Handler {
	if current == nil {
		current = func() string { return "" }
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if name, ok := invokeTarget(r.URL.Path); ok && r.Method == http.MethodPost {
			e.count(caller, current(), "lambda/Invoke")
			e.serveInvoke(w, r, name)
			return
		}
		op, err := Operation(r)
		if err != nil {
			writeAWSError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
			return
		}
		e.count(caller, current(), op)
		if caller != meter.StatesCaller && e.injected(w, r, op) {
			return
		}
		if e.Mail != nil && isSendEmail(r) {
			e.serveSendEmail(w, r, caller)
			return
		}
		if op == "events/PutEvents" && e.Events != nil {
			e.servePutEvents(w, r, caller)
			return
		}
		e.proxy.ServeHTTP(w, r)
	})
}

// servePutEvents proxies a PutEvents call to moto and hands what moto
// accepted to Events; the entries are metered (EventBridge bills each).
func (e *Endpoint) servePutEvents(w http.ResponseWriter, r *http.Request, caller string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		writeAWSError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	e.proxy.ServeHTTP(rec, r)
	if rec.status != http.StatusOK {
		return
	}
	n, err := e.Events.PutEvents(body, rec.body.Bytes())
	if err != nil {
		e.log.Printf("PutEvents from %s: %v", caller, err)
	}
	if e.meter != nil {
		e.meter.EventEntries(caller, n)
	}
}

// recorder passes a response on and keeps a copy of its status and body.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

// injected answers a function's request with the failure the fault plan
// draws for it, if any; the request body is left readable for the proxy.
func (e *Endpoint) injected(w http.ResponseWriter, r *http.Request, op string) bool {
	if e.Faults == nil {
		return false
	}
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(io.LimitReader(r.Body, 16<<20))
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	f, ok := e.Faults.BeforeAWS(op, body)
	if !ok {
		return false
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("x-amzn-RequestId", newID())
	w.WriteHeader(f.Status)
	_, _ = w.Write(f.Body)
	return true
}

// AfterInvoke applies the fault plan to a finished invocation of function
// (a logical id): the HTTP front and the Lambda Invoke API both call it.
func (e *Endpoint) AfterInvoke(function string, res lambdaemu.Result) lambdaemu.Result {
	return e.Faults.AfterInvoke(function, res)
}

func (e *Endpoint) count(caller, requestID, op string) {
	if e.meter != nil {
		e.meter.AWSCall(caller, requestID, op)
	}
}

// invokeTarget returns the function of a Lambda Invoke API path.
func invokeTarget(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, "/2015-03-31/functions/")
	if !ok {
		return "", false
	}
	name, ok := strings.CutSuffix(rest, "/invocations")
	if !ok || name == "" || strings.Contains(name, "/") {
		return "", false
	}
	if u, err := url.PathUnescape(name); err == nil {
		name = u
	}
	return name, true
}

func (e *Endpoint) serveInvoke(w http.ResponseWriter, r *http.Request, name string) {
	pool, ok := e.Pool(name)
	if !ok {
		writeAWSError(w, http.StatusNotFound, "ResourceNotFoundException",
			"Function not found: arn:aws:lambda:us-east-1:123456789012:function:"+name)
		return
	}
	payload, err := io.ReadAll(io.LimitReader(r.Body, maxInvokePayload+1))
	if err != nil {
		writeAWSError(w, http.StatusBadRequest, "InvalidRequestContentException", err.Error())
		return
	}
	if len(payload) > maxInvokePayload {
		writeAWSError(w, http.StatusRequestEntityTooLarge, "RequestTooLargeException", "Request must be smaller than 6291456 bytes for the InvokeFunction operation")
		return
	}
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	if !json.Valid(payload) {
		writeAWSError(w, http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json")
		return
	}
	switch r.Header.Get("X-Amz-Invocation-Type") {
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
		return
	case "Event":
		go func() {
			ctx, cancel := context.WithTimeout(e.asyncCtx, 15*time.Minute)
			defer cancel()
			res, err := pool.Invoke(ctx, payload)
			if err != nil {
				e.log.Printf("async invoke of %s: %v", name, err)
			} else if res.FunctionError != "" {
				e.log.Printf("async invoke of %s (%s) failed: %s", name, res.RequestID, res.Payload)
			}
		}()
		w.Header().Set("x-amzn-RequestId", newID())
		w.WriteHeader(http.StatusAccepted)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), acquireTimeout)
	defer cancel()
	res, err := pool.Invoke(ctx, payload)
	if err != nil {
		writeAWSError(w, http.StatusTooManyRequests, "TooManyRequestsException", "Rate Exceeded. "+err.Error())
		return
	}
	res = e.AfterInvoke(pool.Function().LogicalID, res)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amz-Executed-Version", "$LATEST")
	h.Set("x-amzn-RequestId", res.RequestID)
	if res.FunctionError != "" {
		h.Set("X-Amz-Function-Error", res.FunctionError)
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(res.Payload)
}

// Operation names the AWS operation of a request as "service/Operation":
// from X-Amz-Target for JSON protocols (DynamoDB_20120810.PutItem ->
// dynamodb/PutItem), from the Action parameter for query protocols, else
// the SigV4 service and the method and path. It may read (and restores)
// a form-encoded body.
func Operation(r *http.Request) (string, error) {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		return TargetOperation(t), nil
	}
	svc := sigV4Service(r.Header.Get("Authorization"))
	if name, ok := invokeTarget(r.URL.Path); ok && name != "" {
		return "lambda/Invoke", nil
	}
	action := r.URL.Query().Get("Action")
	if action == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") && r.Body != nil {
		body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
		if err != nil {
			return "", fmt.Errorf("read body: %w", err)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if v, err := url.ParseQuery(string(body)); err == nil {
			action = v.Get("Action")
		}
	}
	if svc == "" {
		svc = "unknown"
	}
	if action != "" {
		return svc + "/" + action, nil
	}
	return svc + "/" + r.Method + " " + r.URL.Path, nil
}

// targetServices maps X-Amz-Target prefixes (without version) to service
// names as they appear in IAM and pricing.
var targetServices = map[string]string{
	"DynamoDB":                          "dynamodb",
	"DynamoDBStreams":                   "dynamodbstreams",
	"AWSStepFunctions":                  "states",
	"AmazonSSM":                         "ssm",
	"AWSEvents":                         "events",
	"AmazonSQS":                         "sqs",
	"Logs":                              "logs",
	"TrentService":                      "kms",
	"secretsmanager":                    "secretsmanager",
	"Kinesis":                           "kinesis",
	"AWSCognitoIdentityProviderService": "cognito-idp",
	"AWSShineFrontendService":           "xray",
	"AmazonEventBridgeScheduler":        "scheduler",
	"GraniteServiceVersion20100801":     "cloudwatch",
}

// TargetOperation turns an X-Amz-Target value into "service/Operation".
func TargetOperation(target string) string {
	prefix, op, ok := strings.Cut(target, ".")
	if !ok {
		return "unknown/" + target
	}
	base := prefix
	if i := strings.Index(prefix, "_"); i > 0 {
		base = prefix[:i]
	}
	if svc, ok := targetServices[base]; ok {
		return svc + "/" + op
	}
	if svc, ok := targetServices[prefix]; ok {
		return svc + "/" + op
	}
	return strings.ToLower(base) + "/" + op
}

// sigV4Service extracts the service from "Credential=AK/date/region/service/aws4_request".
func sigV4Service(auth string) string {
	_, cred, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return ""
	}
	cred, _, _ = strings.Cut(cred, ",")
	parts := strings.Split(cred, "/")
	if len(parts) < 5 {
		return ""
	}
	return parts[3]
}

func writeAWSError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-ErrorType", typ)
	w.Header().Set("x-amzn-RequestId", newID())
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"Type": "User", "message": msg, "__type": typ})
}

func newID() string {
	return fmt.Sprintf("%x-%04x", time.Now().UnixNano(), time.Now().Nanosecond()&0xffff)
}
