// memlab depends on puppeteer, which would download a browser on install. leaksim only uses
// memlab's Node API (heap snapshots of a Node process), which needs no browser, and this
// workplace cannot reach the browser download host anyway.
module.exports = { skipDownload: true };
