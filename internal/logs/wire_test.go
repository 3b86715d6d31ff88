package logs

import (
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/testutil"
)

// TestBadInputIsAClientError sends malformed requests to every operation
// through the router: each must answer 4xx with an AWS error, never 5xx.
func TestBadInputIsAClientError(t *testing.T) {
	e := newEnv(t)
	bodies := []string{
		`{}`, `[]`, `"x"`, `{"logGroupName":7}`, `{"logGroupName":"g:x"}`, `{"logGroupName":"` + strings.Repeat("g", 513) + `"}`,
		`{"logGroupName":"none","logStreamName":"s"}`, `{"logGroupName":"g","logStreamName":"a*b"}`,
		`{"logGroupName":"g","logStreamName":"s","logEvents":null}`, `{"logGroupName":"g","logStreamName":"s","logEvents":[{}]}`,
		`{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":-1,"message":"x"}]}`,
		`{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":9223372036854775807,"message":"x"}]}`,
		`{"logGroupName":"g","logStreamName":"s","nextToken":"f/"}`, `{"logGroupName":"g","logStreamName":"s","nextToken":"b/x/y/z"}`,
		`{"logGroupName":"g","logStreamName":"s","nextToken":"f/1/2/3","limit":0}`, `{"logGroupName":"g","nextToken":"!!"}`,
		`{"logGroupName":"g","nextToken":"e30"}`, `{"logGroupName":"g","filterPattern":"{ $.x = 1 }"}`,
		`{"logGroupIdentifier":"arn:aws:logs:us-east-1:1:nothing"}`, `{"logGroupName":"g","logGroupIdentifier":"g"}`,
		`{"logGroupName":"g","retentionInDays":-1}`, `{"logGroupName":"g","orderBy":"Size"}`, `{"logGroupName":"g","limit":51}`,
		`{"logGroupName":"g","startTime":-5,"endTime":-10}`,
	}
	testutil.ClientErrorsOnly(t, e.svc.JSONService(), rootPrincipal, bodies, func() {
		// DeleteLogGroup and DeleteLogStream may have removed them.
		e.svc.CreateLogGroup(e.ctx, &CreateLogGroupInput{LogGroupName: "g"})
		e.svc.CreateLogStream(e.ctx, &CreateLogStreamInput{LogGroupName: "g", LogStreamName: "s"})
	})
}
