// Package logging sets up JSON structured logs (log/slog) the way Lambda's
// JSON log format expects, with the request id of each invocation.
package logging

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// New returns a JSON logger to stdout, tagged with the function's name, and
// makes it the default logger.
func New() *slog.Logger {
	l := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelInfo})).
		With("function", os.Getenv("AWS_LAMBDA_FUNCTION_NAME"))
	slog.SetDefault(l)
	return l
}

// From returns the logger with the invocation's request id, when ctx has one.
func From(ctx context.Context, l *slog.Logger) *slog.Logger {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		return l.With("request_id", lc.AwsRequestID)
	}
	return l
}
