// memlab depends on puppeteer, which would download a browser on install. package.json points
// "puppeteer" at puppeteer-core (which downloads nothing); this file keeps a browser download off
// even if a tool installs the full puppeteer. leaksim only uses memlab's Node API (heap snapshots
// of a Node process), which needs no browser.
module.exports = { skipDownload: true };
