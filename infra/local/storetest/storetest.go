// Package storetest gives store tests a real table: one moto server per
// test binary (started on free loopback ports, stopped at exit) and a fresh
// table per test, created from template.yaml's Table resource so the
// tests exercise the deployed key schema and indexes.
package storetest

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/infra/local/moto"
	"github.com/referflow/referflow/infra/local/sam"
	"github.com/referflow/referflow/infra/local/stack"
	"github.com/referflow/referflow/internal/privacy"
	"github.com/referflow/referflow/internal/store"
)

var (
	once   sync.Once
	server *moto.Server
	cfg    aws.Config
	tpl    *sam.Template
	err    error
	seq    atomic.Int64
)

// Main runs the package's tests and stops moto afterwards; call it from
// TestMain: func TestMain(m *testing.M) { storetest.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	if server != nil {
		server.Stop()
	}
	os.Exit(code)
}

// DB returns a DynamoDB client for the shared moto server.
func DB(t testing.TB) *dynamodb.Client {
	t.Helper()
	once.Do(start)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	return dynamodb.NewFromConfig(cfg)
}

// New returns a Store over a new, empty table with the template's schema.
func New(t testing.TB) *store.Store {
	t.Helper()
	db := DB(t)
	table := *tableTemplate()
	table.Name = fmt.Sprintf("t%d-%s", seq.Add(1), safe.ReplaceAllString(t.Name(), "-"))
	if len(table.Name) > 200 {
		table.Name = table.Name[:200]
	}
	if _, err := stack.CreateTables(context.Background(), db, []sam.Table{table}); err != nil {
		t.Fatalf("storetest: %v", err)
	}
	return store.New(db, table.Name).WithKeys(Keys)
}

// Secret is the key-hash secret of the stores New returns; Keys hashes
// with it.
const Secret = "storetest-key-hash-secret"

// Keys is the key hasher of the stores New returns.
var Keys = func() privacy.Source {
	h, err := privacy.NewHasher(Secret)
	if err != nil {
		panic(err)
	}
	return privacy.Fixed(h)
}()

var safe = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

func tableTemplate() *sam.Table {
	for i := range tpl.Tables {
		if tpl.Tables[i].LogicalID == "Table" {
			return &tpl.Tables[i]
		}
	}
	panic("storetest: template.yaml has no Table resource")
}

func start() {
	root, e := repoRoot()
	if e != nil {
		err = e
		return
	}
	if tpl, err = sam.Load(filepath.Join(root, "template.yaml"), sam.Options{}); err != nil {
		return
	}
	port, e1 := freePort()
	lambdaPort, e2 := freePort()
	if e1 != nil || e2 != nil {
		err = fmt.Errorf("free ports: %v %v", e1, e2)
		return
	}
	if server, err = moto.Start(context.Background(), moto.Options{Port: port, LambdaPort: lambdaPort}); err != nil {
		return
	}
	cfg = stack.AWSConfig(server.URL)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("storetest: go.mod not found above the working directory")
		}
		dir = parent
	}
}

// GetItemAPI is the DynamoDB read the inspection helpers use.
type GetItemAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

// Spent returns the money reserved on a spending counter of a program (0
// when nothing was ever reserved), read straight from the table: tests
// check budget counters with it; no request path needs it.
func Spent(ctx context.Context, db GetItemAPI, table, programID, counter string) (int64, error) {
	item, err := getItem(ctx, db, table, "PROGRAM#"+programID, counter)
	if err != nil {
		return 0, err
	}
	v, ok := item["spent"].(*types.AttributeValueMemberN)
	if !ok {
		return 0, nil
	}
	return strconv.ParseInt(v.Value, 10, 64)
}

// EventOutcome returns the stored state and outcome of a webhook event (""
// when the event is unknown), read straight from the table.
func EventOutcome(ctx context.Context, db GetItemAPI, table, provider, id string) (state, outcome string, err error) {
	item, err := getItem(ctx, db, table, "EVENT#"+provider+"#"+id, "EVENT")
	if err != nil {
		return "", "", err
	}
	str := func(k string) string {
		if v, ok := item[k].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	return str("state"), str("outcome"), nil
}

func getItem(ctx context.Context, db GetItemAPI, table, pk, sk string) (map[string]types.AttributeValue, error) {
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &table, ConsistentRead: aws.Bool(true), Key: map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: pk}, "SK": &types.AttributeValueMemberS{Value: sk}}})
	if err != nil {
		return nil, fmt.Errorf("storetest: get %s/%s: %w", pk, sk, err)
	}
	return out.Item, nil
}
