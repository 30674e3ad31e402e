// Command webhook sends a correctly signed (or credentialed) CRM webhook to a
// Referflow deployment or local stack, to test a connection end to end.
//
//	go run ./infra/cmd/webhook -provider hubspot -url https://<api-id>.execute-api.<region>.amazonaws.com/webhooks/hubspot -file deal.json
//	go run ./infra/cmd/webhook -provider generic -url http://127.0.0.1:3000/webhooks/generic < event.json
//	go run ./infra/cmd/webhook -provider salesforce -url ... -file outbound.xml -print
//
// Secrets default from the environment: REFERFLOW_HUBSPOT_CLIENT_SECRET,
// REFERFLOW_WEBHOOK_SECRET (generic), REFERFLOW_PIPEDRIVE_USER and
// REFERFLOW_PIPEDRIVE_PASSWORD, REFERFLOW_SALESFORCE_TOKEN. It prints the
// answer's status and body, or with -print the curl command instead of
// sending. The exit status is 0 for a 2xx answer, 1 otherwise, 2 for usage
// errors.
package main

import (
	"context"
	"os"
	"os/signal"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr, nil, time.Now))
}
