package awsapi

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/referflow/referflow/infra/local/meter"
)

type sink struct{ request, response string }

func (s *sink) PutEvents(req, res []byte) (int, error) {
	s.request, s.response = string(req), string(res)
	return strings.Count(string(res), "EventId"), nil
}

// A function's PutEvents goes to moto unchanged and its answer back to the
// function; what moto accepted is handed to the local bus and metered per
// entry.
func TestPutEventsReachesMotoAndTheLocalBus(t *testing.T) {
	const answer = `{"FailedEntryCount":1,"Entries":[{"EventId":"a"},{"ErrorCode":"MalformedDetail"},{"EventId":"b"}]}`
	var motoGot string
	moto := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		motoGot = string(b)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = w.Write([]byte(answer))
	}))
	defer moto.Close()
	m := meter.New(map[string]string{"PublishFunction": "publish"}, map[string]int{"PublishFunction": 128})
	e, err := New(context.Background(), moto.URL, m, log.New(io.Discard, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	bus := &sink{}
	e.Events = bus
	const body = `{"Entries":[{"Source":"referflow"},{"Source":"referflow"},{"Source":"referflow"}]}`
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	req.Header.Set("X-Amz-Target", "AWSEvents.PutEvents")
	rec := httptest.NewRecorder()
	e.Handler("PublishFunction", nil).ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Body.String() != answer || motoGot != body {
		t.Fatalf("answer %d %s; moto got %s", rec.Code, rec.Body, motoGot)
	}
	if bus.request != body || bus.response != answer {
		t.Errorf("the bus got %s / %s", bus.request, bus.response)
	}
	snap := m.Snapshot()
	if snap.EventEntries["PublishFunction"] != 2 || snap.AWSCalls["PublishFunction"]["events/PutEvents"] != 1 {
		t.Errorf("metered %v entries, %v calls", snap.EventEntries, snap.AWSCalls)
	}
}
