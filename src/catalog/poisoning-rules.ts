/**
 * The rules of the tool-poisoning scan (src/catalog/poisoning-scan.ts): character classes of hidden
 * Unicode, and the phrase rules run on the normalized text (NFKC, hidden characters removed,
 * confusables folded to ASCII, whitespace collapsed). Each rule names what a model would obey but a
 * reviewer would not expect in a tool definition.
 */
import type { ScanSeverity } from './poisoning-scan.js';

/**
 * Character ranges as regex source text (built with `new RegExp`: the linter rightly distrusts literal
 * classes of invisible and combining characters, which is exactly what these must match).
 */
export const TAG_RANGE = String.raw`\u{E0000}-\u{E007F}`;
export const BIDI_RANGE = String.raw`\u202A-\u202E\u2066-\u2069\u061C`;
/** Zero-width, fillers and other characters that render as nothing. */
export const INVISIBLE_RANGE = String.raw`\u200B-\u200F\u2060-\u2064\uFEFF\u00AD\u180E\u034F\u115F\u1160\u17B4\u17B5\u3164\uFFA0`;
/** Variation selectors (VS1–VS16, VS17–VS256): a run of them after one character smuggles bytes. */
export const VARIATION_RANGE = String.raw`\uFE00-\uFE0F\u{E0100}-\u{E01EF}`;
export const CONTROL_RANGE = String.raw`\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F`;

export const TAG_CHARS = new RegExp(`[${TAG_RANGE}]+`, 'gu');
export const BIDI_CHARS = new RegExp(`[${BIDI_RANGE}]`, 'u');
export const INVISIBLE_CHARS = new RegExp(`[${INVISIBLE_RANGE}]`, 'u');
/**
 * A variation selector that is not the usual single one after an emoji or symbol (e.g. "⚠️"):
 * after a letter, digit or space, or two and more in a row.
 */
export const SUSPICIOUS_VARIATION = new RegExp(
  `(?<![\\p{Extended_Pictographic}\\p{So}\\p{Sm}\\u2000-\\u2BFF])[${VARIATION_RANGE}]|[${VARIATION_RANGE}]{2,}`,
  'u',
);
export const CONTROL_CHARS = new RegExp(`[${CONTROL_RANGE}]`, 'u');
/** Removed before phrase rules run. */
export const STRIP_FOR_PHRASES = new RegExp(
  `[${INVISIBLE_RANGE}${BIDI_RANGE}${TAG_RANGE}${VARIATION_RANGE}${CONTROL_RANGE}]`,
  'gu',
);
export const SHOW_ESCAPED = new RegExp(
  `[${CONTROL_RANGE}${INVISIBLE_RANGE}${BIDI_RANGE}${TAG_RANGE}${VARIATION_RANGE}]`,
  'gu',
);
/** A word mixing Latin letters with letters of another script (Cyrillic "а" inside "аll"). */
export const MIXED_SCRIPT_WORD =
  /(?=[\p{L}\p{M}]*\p{Script=Latin})(?=[\p{L}\p{M}]*[\p{Script=Cyrillic}\p{Script=Greek}\p{Script=Armenian}\p{Script=Cherokee}\p{Script=Coptic}\p{Script=Lisu}\p{Script=Vai}\p{Script=Canadian_Aboriginal}])[\p{L}\p{M}]{2,}/u;

export interface PhraseRule {
  rule: string;
  severity: ScanSeverity;
  message: string;
  pattern: RegExp;
}

/** Files and keys that hold secrets (mentioning them is worth a look). */
const SECRET_FILE = String.raw`(?:id_(?:rsa|dsa|ed25519|ecdsa)\b|\.ssh\b|ssh\s+(?:(?:private|identity|secret)\s+)?(?:keys?|identity|identities|director(?:y|ies)|folder)\b|(?:rsa|dsa|ecdsa|ed25519|pgp|gpg)\s+(?:private\s+)?keys?\b|private[\s_-]keys?\b|\.env\b|dotenv\b|credentials?\s+files?\b|\.aws\b|\.kube\b|\.npmrc\b|\.netrc\b|\.git-credentials\b|mcp\.json\b|\/etc\/(?:passwd|shadow)\b|keychain\b|(?:secrets?|passwords?)\s+files?\b|saved\s+passwords\b)`;
/** What a secret is called, in the words an attacker would paraphrase with. */
const SECRET_NOUN = String.raw`(?:${SECRET_FILE}|credentials?\b|api[\s_-]?keys?\b|secret\s+keys?\b|(?:access|auth(?:entication)?|bearer|refresh|session|github|aws|oauth)\s+tokens?\b|session\s+cookies?\b)`;
/** Verbs of getting hold of something or handing it over. */
const TAKE_VERB = String.raw`(?:(?:read|cat|open|load|include|attach|append|embed|send|upload|copy|print|output|echo|return|fetch|retrieve|collect|gather|grab|extract|dump|leak|access|find|locate|list|show|reveal|provide|pass|put|insert|paste|supply|give|share|transmit|forward|post)(?:s|es|ed|ing)?|look(?:s|ing)?\s+(?:up|in|at|for|inside))`;

export const PHRASE_RULES: readonly PhraseRule[] = [
  {
    rule: 'hidden-instruction',
    severity: 'high',
    message: 'tells the model to ignore or replace its instructions',
    pattern:
      /\b(?:ignore|disregard|forget|override|bypass)\s+(?:(?:all|any|the|your|every|of)\s+)*(?:previous|prior|above|earlier|preceding|system|original|existing|your|all|any)\s+(?:instructions?|prompts?|messages?|rules?|directives?|guidelines?|context|constraints?)\b/i,
  },
  {
    rule: 'hidden-instruction',
    severity: 'high',
    message: 'tells the model to ignore or replace its instructions',
    pattern:
      /\b(?:disregard|ignore)\s+(?:all\s+|everything\s+)?(?:the\s+)?(?:above|before|said)\b|\byou\s+are\s+now\s+(?:a|an|in)\b|\bnew\s+(?:system\s+)?instructions?\s*:|\bfrom\s+now\s+on,?\s+you\s+(?:must|will|should)\b/i,
  },
  {
    rule: 'secrecy',
    severity: 'high',
    message: 'asks the model to keep something from the user',
    pattern:
      /\b(?:do\s+not|don'?t|never|must\s+not|should\s+not)\s+(?:tell|inform|mention|reveal|disclose|show|notify|alert|let)\b[^.!?\n]{0,40}\buser\b|\bwithout\s+(?:telling|informing|notifying|alerting|asking)\s+(?:the\s+)?user\b|\b(?:the\s+)?user\s+(?:must|should|will)\s+not\s+(?:know|see|notice|be\s+told)\b|\b(?:hide|conceal|keep)\s+(?:this|it|these)\s+(?:secret\s+)?from\s+the\s+user\b/i,
  },
  {
    rule: 'instruction-tag',
    severity: 'high',
    message: 'contains an instruction block a model gives priority to',
    pattern:
      /<\s*\/?\s*(?:important|system|instructions?|secret|hidden|admin|assistant|prompt)\b[^>]*>|\[\/?INST\]|<\|(?:im_start|im_end|system|endoftext)\|>/i,
  },
  {
    rule: 'markdown-image',
    severity: 'high',
    message: 'contains a markdown image with a remote URL (rendering it sends data to that host)',
    pattern: /!\[[^\]]*\]\(\s*<?\s*(?:https?:)?\/\//i,
  },
  {
    rule: 'exfil-url',
    severity: 'high',
    message: 'contains a URL with a placeholder for data',
    pattern: /\bhttps?:\/\/[^\s)"'\]]*(?:\{[^}\s]*\}|<[^>\s]*>|%7B|\$\{?\w)/i,
  },
  {
    rule: 'exfil-url',
    severity: 'high',
    message: 'tells the model to send data to a URL',
    pattern:
      /\b(?:send|post|upload|forward|transmit|exfiltrate|leak|submit|report|copy)\b[^.!?\n]{0,80}\b(?:to|at|via)\s+(?:https?:\/\/|www\.)/i,
  },
  {
    rule: 'script-uri',
    severity: 'high',
    message: 'contains a javascript: or data: URI',
    pattern: /\bjavascript:|\bdata:[a-z]+\/[a-z0-9.+-]+[;,]/i,
  },
  {
    rule: 'secret-request',
    severity: 'high',
    message: 'asks the model to read or hand over credentials or keys',
    pattern: new RegExp(String.raw`\b${TAKE_VERB}\b[^.!?\n]{0,80}?(?:^|[\s/"'\x60(~])${SECRET_NOUN}`, 'i'),
  },
  {
    rule: 'exfil-argument',
    severity: 'high',
    message: 'tells the model to put the contents of something into a tool argument',
    pattern:
      /\b(?:pass|put|include|insert|embed|add|append|paste|place|provide|send|copy)\b[^.!?\n]{0,60}\b(?:contents?|text|value|body|output|full\s+file)\b[^.!?\n]{0,80}\b(?:as|in|into|inside|within|to)\s+(?:the\s+|a\s+|an\s+)?[`'"]?[\w.-]+[`'"]?\s+(?:parameter|argument|field|property|param|arg)\b/i,
  },
  {
    rule: 'exfil-argument',
    severity: 'high',
    message: 'tells the model to pass data through a hidden side channel argument',
    pattern:
      /\b(?:sidenote|side[\s_-]note|side[\s_-]channel|hidden\s+(?:parameter|argument|field))\b[^.!?\n]{0,80}\b(?:contents?|file|data|key|token|secret|password)\b|\b(?:contents?|file|data|key|token|secret|password)\b[^.!?\n]{0,80}\b(?:sidenote|side[\s_-]note|side[\s_-]channel)\b/i,
  },
  {
    rule: 'sensitive-file',
    severity: 'medium',
    message: 'refers to credentials or sensitive files',
    pattern: new RegExp(
      String.raw`~\/\.ssh|(?:^|[\s/"'\x60(~])${SECRET_FILE}|\bhome\s+director(?:y|ies)\b[^.!?\n]{0,60}\b(?:hidden|dot)\s*(?:files?|folders?|director(?:y|ies))|\b(?:hidden|dot)\s*(?:files?|folders?|director(?:y|ies))\b[^.!?\n]{0,60}\bhome\b`,
      'i',
    ),
  },
  {
    rule: 'tool-shadowing',
    severity: 'medium',
    message: 'gives instructions about other tools',
    pattern:
      /\binstead\s+of\s+(?:using|calling)\b|\bwhen\s+(?:the\s+user|you)\s+(?:calls?|uses?|invokes?)\s+(?:the\s+)?[\w.-]+\s+tool\b|\b(?:before|after)\s+(?:using|calling)\s+(?:this|any|the)\s+(?:other\s+)?tools?\b[^.]{0,40}\b(?:must|always|first)\b/i,
  },
];
