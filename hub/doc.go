// Package hub is the Hugging Face hub client ggmi uses to fetch the models
// it runs (the generative model M and the students) and the data sets it
// starts from (S_anchor; package dataset explains the chain). It is real
// code that talks to the network; its tests run it against httptest
// servers.
//
// A file on the hub is named by an hf:// URI, parsed by [ParseURI]:
//
//	hf://owner/name[@revision][/path/in/repo]
//	hf://datasets/owner/name[@revision][/path/in/repo]   (data sets)
//
// The [RepoType] (a model or a data set repository) is given by the caller;
// the "datasets/" prefix is accepted for data sets only. Every component is
// checked so that no URI can name a file outside its repository's cache
// folder.
//
// A [Client] downloads files into the local cache with the hub's layout,
//
//	<cache>/<type>s--owner--name/snapshots/<revision>/<path>
//
// below [DefaultCacheDir] unless told otherwise, so files fetched by the
// Python tools are shared. A download goes to a temporary file in the
// destination folder, is checked against the Content-Length and the expected
// size, and is renamed into place only when complete: a cached file is never
// partial. The access token (HF_TOKEN) is sent to the hub's own host only.
package hub
