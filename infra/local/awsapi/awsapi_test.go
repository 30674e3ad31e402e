package awsapi

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestTargetOperation(t *testing.T) {
	for target, want := range map[string]string{
		"DynamoDB_20120810.PutItem":            "dynamodb/PutItem",
		"DynamoDB_20120810.TransactWriteItems": "dynamodb/TransactWriteItems",
		"AWSStepFunctions.SendTaskSuccess":     "states/SendTaskSuccess",
		"AmazonSSM.GetParameter":               "ssm/GetParameter",
		"AWSEvents.PutEvents":                  "events/PutEvents",
		"AmazonSQS.SendMessage":                "sqs/SendMessage",
		"Logs_20140328.PutLogEvents":           "logs/PutLogEvents",
		"TrentService.Decrypt":                 "kms/Decrypt",
		"Foo_2020.Bar":                         "foo/Bar",
		"nodot":                                "unknown/nodot",
	} {
		if got := TargetOperation(target); got != want {
			t.Errorf("%s -> %s, want %s", target, got, want)
		}
	}
}

func TestOperation(t *testing.T) {
	auth := "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=x"
	r := httptest.NewRequest("POST", "/", strings.NewReader("Action=GetCallerIdentity&Version=2011-06-15"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	r.Header.Set("Authorization", auth)
	op, err := Operation(r)
	if err != nil || op != "sts/GetCallerIdentity" {
		t.Errorf("query protocol: %q %v", op, err)
	}
	body := make([]byte, 100)
	n, _ := r.Body.Read(body)
	if !strings.HasPrefix(string(body[:n]), "Action=") {
		t.Error("body not restored")
	}
	r = httptest.NewRequest("GET", "/2015-03-31/functions/x", nil)
	r.Header.Set("Authorization", strings.Replace(auth, "/sts/", "/lambda/", 1))
	if op, _ := Operation(r); op != "lambda/GET /2015-03-31/functions/x" {
		t.Errorf("rest: %q", op)
	}
	r = httptest.NewRequest("POST", "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af/invocations", nil)
	if op, _ := Operation(r); op != "lambda/Invoke" {
		t.Errorf("invoke: %q", op)
	}
}

func TestInvokeTarget(t *testing.T) {
	for path, want := range map[string]string{
		"/2015-03-31/functions/f/invocations":                  "f",
		"/2015-03-31/functions/arn%3Aaws%3Alambda/invocations": "arn:aws:lambda",
		"/2015-03-31/functions//invocations":                   "",
		"/2015-03-31/functions/f":                              "",
	} {
		got, _ := invokeTarget(path)
		if got != want {
			t.Errorf("%s -> %q, want %q", path, got, want)
		}
	}
}
