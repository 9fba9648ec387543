// Stands in, at build time only (go build -overlay), for
// github.com/dapr/dapr/cmd/daprd/components/zz_notag.go of the Dapr module.
//
// Upstream's file is compiled when neither the "allcomponents" nor the
// "stablecomponents" build tag is set, and panics at start-up to remind a
// developer to choose one. This slim daprd deliberately sets neither (it
// registers its own few components in main.go), so the reminder is replaced by
// an empty package file. The overlay only swaps this one file; the module
// itself is used unmodified from the module cache.
package components
