// What the summary lines say about a patch, gathered from its sections: apart from summary.ts, which renders
// them, so that the session store can keep a patch's summary without the rendering (and what that imports).
import { changeOfSection, type FileChange } from './parse.js'
import { changeRiskFlags, type RiskFlag } from './risk.js'

/** What the summary lines say about a patch: its files' changes and risk flags, none of its text. */
export interface PatchSummary {
  files: FileChange[]
  flags: RiskFlag[]
}

/** Builds a PatchSummary from a patch's sections (as bytes), one at a time, keeping none of them. */
export class PatchSummaryBuilder {
  readonly summary: PatchSummary = { files: [], flags: [] }

  add(section: Buffer): void {
    const change = changeOfSection(section)
    this.summary.files.push(change)
    // Only a manifest's flags need its text: decoding every section would cost more than all the rest.
    for (const flag of changeRiskFlags(change, () => section.toString('utf8'))) this.summary.flags.push(flag)
  }
}
