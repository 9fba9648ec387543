// Stands in, at build time only, for
// github.com/dapr/dapr/cmd/daprd/components/zz_notag.go of the Dapr module.
//
// Upstream's file is compiled when neither the "allcomponents" nor the
// "stablecomponents" build tag is set, and panics at start-up to remind a
// developer to choose one. This slim daprd deliberately sets neither (it
// registers its own few components in main.go), so the reminder is replaced by
// an empty package file. Go refuses -overlay for files in the module cache, so
// scripts/infra.d/daprd.sh copies the Dapr module into the infra cache, puts
// this file in place of upstream's, and builds through a generated -modfile
// that replaces github.com/dapr/dapr with that copy. Nothing else changes.
package components
