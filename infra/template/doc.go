// Package template holds the tests that read template.yaml, the whole
// deployment, for what cfn-lint cannot know: every function logs to a log
// group the template declares with the deployment's retention, alarms can
// reach their topic, and the privacy settings reach the functions that need
// them.
package template
