package mailbox

import (
	"context"
	"fmt"
	"os"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"gopkg.in/yaml.v3"

	"github.com/referflow/referflow/infra/local/sam"
)

// identityType is the resource type of an SES identity in a template.
const identityType = "AWS::SES::EmailIdentity"

// Identities lists the email identities (domains or addresses) the
// template's AWS::SES::EmailIdentity resources declare, resolved (e.g.
// !Ref EmailDomain), sorted.
func Identities(tpl *sam.Template) ([]string, error) {
	data, err := os.ReadFile(tpl.Path)
	if err != nil {
		return nil, fmt.Errorf("mailbox: read template: %w", err)
	}
	var doc struct {
		Resources map[string]struct {
			Type string `yaml:"Type"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("mailbox: read template resources: %w", err)
	}
	var out []string
	for id, r := range doc.Resources {
		if r.Type != identityType || tpl.ResourceType(id) != identityType {
			continue
		}
		props, err := tpl.ResourceProperties(id)
		if err != nil {
			return nil, fmt.Errorf("mailbox: %w", err)
		}
		name, _ := props["EmailIdentity"].(string)
		if name == "" {
			return nil, fmt.Errorf("mailbox: %s has no EmailIdentity", id)
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out, nil
}

// SES is the part of the SES v2 API CreateIdentities uses.
type SES interface {
	CreateEmailIdentity(ctx context.Context, in *sesv2.CreateEmailIdentityInput, opts ...func(*sesv2.Options)) (*sesv2.CreateEmailIdentityOutput, error)
}

// CreateIdentities creates the template's email identities in moto, which
// then accepts mail from them (as SES does once an identity is verified)
// and refuses it from any other sender.
func CreateIdentities(ctx context.Context, client SES, tpl *sam.Template) ([]string, error) {
	ids, err := Identities(tpl)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if _, err := client.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(id)}); err != nil {
			return nil, fmt.Errorf("mailbox: create email identity %s: %w", id, err)
		}
	}
	return ids, nil
}
