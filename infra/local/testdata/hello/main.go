// Command hello is the minimal aws-lambda-go function (returns "hello"):
// the baseline the bench compares binary size and init time against.
package main

import "github.com/aws/aws-lambda-go/lambda"

func main() {
	lambda.Start(func() (string, error) { return "hello", nil })
}
