// A webpack loader for the replay guard test: applies text edits to the workflow source at bundle
// time, so the test can replay committed histories against a deliberately changed workflow
// without keeping a second copy of it.
module.exports = function sourceEditLoader(source) {
  const { edits } = this.getOptions();
  let out = source;
  for (const { find, replace } of edits) {
    if (!out.includes(find)) throw new Error(`source-edit-loader: "${find}" not found in ${this.resourcePath}`);
    out = out.replace(find, replace);
  }
  return out;
};
