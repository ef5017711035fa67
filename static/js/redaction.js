// The widget's own detector, so that a customer is warned before sending what the server would
// mask anyway: the reduced set of conversations.redaction (cards, IBANs, US SSNs, e-mail
// addresses, passwords), with its checks and masks, ported rule for rule (the Python docstrings
// say why each rule is there). Both are tested on tests/conversations/redaction_vectors.json.
//
//   findSecrets(text, {kinds, keepDomains}) -> [{kind, start, end, masked}], in order
//   maskSecrets(text, {kinds, keepDomains}) -> {text, kinds}
//
// Spans are string indices, as the textarea's selection counts them.

export const MASK = "•";
// Also the rank where findings overlap: an IBAN before a card, as a valid IBAN can hold a
// Luhn-valid card-like stretch ("DE44 5001 0517 5407 3249 31").
export const KINDS = ["iban", "card", "ssn", "email", "password"];

const W = "[\\p{L}\\p{N}_]"; // Python's \w
const NW = "[^\\p{L}\\p{N}_]"; // Python's \W
const NOT_AFTER_WORD = `(?!${W})`;
// (the ideographic space is typed between full-width digits)
const SEPARATORS = " \\t\\u00a0\\u2009\\u202f\\u3000.\\-()/\\r\\n";
const DIGIT_RUN = new RegExp(`\\p{Nd}(?:[\\p{Nd}${SEPARATORS}]*\\p{Nd})?`, "gu");
const KEPT_AFTER = new RegExp(`${MASK}$|(?<!${MASK})${MASK}{4}[${SEPARATORS}]$`, "u");
const LEADING_SEPARATORS = new RegExp(`^[${SEPARATORS}]*`, "u");

const codePoints = (value) => Array.from(value);
const isDigit = (c) => /\p{Nd}/u.test(c);
const isAlnum = (c) => /[\p{L}\p{N}]/u.test(c);
const isAlpha = (c) => /\p{L}/u.test(c);

// The value of a Unicode decimal digit (full-width "４" is 4): digits come in runs of ten, 0 to 9.
function digitValue(c) {
  if (c >= "0" && c <= "9") return c.charCodeAt(0) - 48;
  let cp = c.codePointAt(0), offset = 0;
  while (isDigit(String.fromCodePoint(cp - 1))) { cp -= 1; offset += 1; }
  return offset % 10;
}

const digitsOf = (value) => codePoints(value).filter(isDigit).map(digitValue);

// Every letter and digit (or every digit) masked but the first `first` and the last `last`;
// separators kept.
function keepLast(value, last, { first = 0, digitsOnly = false } = {}) {
  const chars = codePoints(value);
  const masks = digitsOnly ? isDigit : isAlnum;
  const positions = chars.flatMap((c, i) => (masks(c) ? [i] : []));
  const shown = new Set([...positions.slice(0, first), ...(last ? positions.slice(-last) : [])]);
  return chars.map((c, i) => (shown.has(i) || !masks(c) ? c : MASK)).join("");
}

const secret = (value) => MASK.repeat(Math.min(6, codePoints(value).length));

function lowered(text) {
  const low = text.toLowerCase();
  if (low.length === text.length) return low;
  return codePoints(text).map((c) => (c.toLowerCase().length === c.length ? c.toLowerCase() : c)).join("");
}

function touchesMask(text, start, end) {
  return (start > 0 && text[start - 1] === MASK) || text[end] === MASK;
}

// Digit runs without the digits a mask kept ("•••• 1111"), so masked text is read as before.
function digitRuns(text) {
  const runs = [];
  for (const m of text.matchAll(DIGIT_RUN)) {
    let start = m.index;
    const end = start + m[0].length;
    if (text.includes(MASK) && KEPT_AFTER.test(text.slice(Math.max(0, start - 7), start))) {
      const group = text.slice(start, end).match(/^\p{Nd}*/u)[0].length;
      if (group <= 4) {
        start += group;
        start += text.slice(start, end).match(LEADING_SEPARATORS)[0].length;
      }
    }
    if (start < end) runs.push([start, end]);
  }
  return runs;
}

// --- cards -------------------------------------------------------------------------------
function luhnValid(digits) {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits[digits.length - 1 - i];
    if (i % 2) { d *= 2; if (d > 9) d -= 9; }
    sum += d;
  }
  return sum % 10 === 0;
}

// The number's prefix is one a card network issues at this length (ISO/IEC 7812 IIN ranges).
function issuerFits(d) {
  const n = d.length, p2 = Number(d.slice(0, 2)), p3 = Number(d.slice(0, 3)), p4 = Number(d.slice(0, 4));
  if (d[0] === "4") return [13, 16, 19].includes(n); // Visa
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n === 16; // Mastercard
  if (p2 === 34 || p2 === 37) return n === 15; // American Express
  if ((p3 >= 300 && p3 <= 305) || [36, 38, 39].includes(p2)) return n >= 14; // Diners Club
  if ((p4 >= 3528 && p4 <= 3589) || (p4 >= 2200 && p4 <= 2204)) return n >= 16; // JCB, Mir
  if ("56".includes(d[0])) return true; // Maestro, Discover, UnionPay, RuPay
  if (p2 === 81 || p2 === 82 || p4 === 9792) return n === 16; // RuPay, Troy
  return d[0] === "1" && n === 15; // UATP
}

// (first, last) groups written as a card is: one block, fours with a shorter last one, 4-6-5, 4-6-4.
function* groupings(sizes) {
  for (let i = 0; i < sizes.length; i++) {
    if (sizes[i] >= 13 && sizes[i] <= 19) yield [i, i];
    else if (sizes[i] === 4) {
      const next = sizes.slice(i + 1, i + 3).join();
      if (next === "6,5" || next === "6,4") yield [i, i + 2];
      let total = 4, j = i + 1;
      while (j < sizes.length && total < 19 && (sizes[j] === 4 || (sizes[j] > 0 && sizes[j] < 4 && total >= 12))) {
        total += sizes[j];
        if (total >= 13 && total <= 19) yield [i, j];
        if (sizes[j] !== 4) break;
        j += 1;
      }
    }
  }
}

// The groups with those that only a line break separates made one ("41111111\n11111111").
function joinedAtLineBreaks(run, groups) {
  const joined = groups.slice(0, 1);
  for (const [start, end] of groups.slice(1)) {
    if (run.slice(joined.at(-1)[1], start).replaceAll("\r", "") === "\n") joined[joined.length - 1] = [joined.at(-1)[0], end];
    else joined.push([start, end]);
  }
  return joined;
}

// A line break between groups counts as whichever separator the others are ("4111-1111-\n1111-1111").
function* cardWindows(run) {
  const groups = [...run.matchAll(/\p{Nd}+/gu)].map((m) => [m.index, m.index + m[0].length]);
  const readings = [groups];
  if (run.includes("\n")) {
    const joined = joinedAtLineBreaks(run, groups);
    if (joined.length !== groups.length) readings.push(joined);
  }
  const valid = new Map(); // "start,end" -> [start, end]
  for (const reading of readings) {
    for (const [i, j] of groupings(reading.map(([s, e]) => codePoints(run.slice(s, e)).length))) {
      const separators = new Set();
      for (let k = i; k < j; k++) {
        const separator = run.slice(reading[k][1], reading[k + 1][0]).replaceAll("\r", "").replaceAll("\n", "");
        if (separator) separators.add(separator);
      }
      const digits = digitsOf(run.slice(reading[i][0], reading[j][1]));
      if (separators.size <= 1 && issuerFits(digits.join("")) && luhnValid(digits)) {
        valid.set(`${reading[i][0]},${reading[j][1]}`, [reading[i][0], reading[j][1]]);
      }
    }
  }
  const taken = [];
  for (const [start, end] of [...valid.values()].sort((a, b) => (a[0] - a[1]) - (b[0] - b[1]) || a[0] - b[0])) {
    if (taken.every(([s, e]) => end <= s || start >= e)) { taken.push([start, end]); yield [start, end]; }
  }
}

const CARDISH = /\p{Nd}{13}|\p{Nd}{4}\P{Nd}{1,3}\p{Nd}{4}|\p{Nd}{4}\P{Nd}{1,3}\p{Nd}{6}/u;
// A label right before the number saying it is something else than a card.
const NOT_A_CARD = new RegExp(
  `(?<!${W})(?:imei|meid|tracking|track|order|invoice|inv|ref|reference|ticket|case|awb|waybill|parcel|shipment`
  + `|consignment|serial|sku|isbn|ean|upc|gtin|iccid|sim)${NOT_AFTER_WORD}${NW}{0,3}`
  + `(?:n(?:o|r|um(?:ber)?)${NOT_AFTER_WORD}\\.?|#|id${NOT_AFTER_WORD})?${NW}{0,3}$`, "u",
);

function* cards(text, low, runs) {
  for (const [runStart, runEnd] of runs) {
    if (runEnd - runStart < 13 || !CARDISH.test(text.slice(runStart, runEnd))) continue;
    for (const [s, e] of cardWindows(text.slice(runStart, runEnd))) {
      const start = runStart + s, end = runStart + e;
      if (NOT_A_CARD.test(low.slice(Math.max(0, start - 40), start)) || touchesMask(text, start, end)) continue;
      yield { kind: "card", start, end, masked: keepLast(text.slice(start, end), 4) };
    }
  }
}

// --- IBANs -------------------------------------------------------------------------------
// Each country's BBAN (python-stdnum's iban.dat, from SWIFT's IBAN registry): n digits, a
// capital letters, c letters or digits.
const BBAN = Object.fromEntries(
  ("AD4n4n12c AE3n16n AL8n16c AT5n11n AZ4a20c BA3n3n8n2n BE3n7n2n BG4a4n2n8c BH4a14c BI5n5n11n2n BR8n5n10n1a1c "
  + "BY4c4n16c CH5n12c CR4n14n CY3n5n16c CZ4n16n DE8n10n DJ5n5n11n2n DK4n9n1n DO4c20n EE2n14n EG4n4n17n "
  + "ES4n4n1n1n10n FI3n11n FK2a12n FO4n9n1n FR5n5n11c2n GB4a6n8n GE2a16n GI4a15c GL4n9n1n GR3n4n16c GT4c20c "
  + "HN4a20n HR7n10n HU3n4n1n15n1n IE4a6n8n IL3n3n13n IQ4a3n12n IS4n2n6n10n IT1a5n5n12c JO4a4n18c KW4a22c "
  + "KZ3n13c LB4n20c LC4a24c LI5n12c LT5n11n LU3n13c LV4a13c LY3n3n15n MC5n5n11c2n MD2c18c ME3n13n2n MK3n10c2n "
  + "MN4n12n MR5n5n11n2n MT4a5n18c MU4a2n2n12n3n3a NI4a20n NL4a10n NO4n6n1n OM3n16c PK4a16c PL8n16n PS4a21c "
  + "PT4n4n11n2n QA4a21c RO4a16c RS3n13n2n RU9n5n15c SA2n18c SC4a2n2n16n3a SD2n12n SE3n16n1n SI5n8n2n "
  + "SK4n6n10n SM1a5n5n12c SO4n3n12n ST4n4n11n2n SV4a20n TL3n14n2n TN2n3n13n2n TR5n1n16c UA6n19c VA3n15n "
  + "VG4a16n XK4n10n2n YE4a4n18c")
    .split(" ")
    .map((entry) => [entry.slice(0, 2), new RegExp(`^${entry.slice(2).replace(/(\d+)([nac])/g,
      (_, count, type) => `${{ n: "[0-9]", a: "[A-Z]", c: "[A-Z0-9]" }[type]}{${count}}`)}$`)]),
);

function ibanValid(value) {
  const number = value.replace(/[ \-.\r\n]/g, "").trim().toUpperCase();
  if (!/^[A-Z]{2}[0-9]{2}[A-Z0-9]+$/.test(number) || !BBAN[number.slice(0, 2)]?.test(number.slice(4))) return false;
  let rest = 0;
  for (const c of number.slice(4) + number.slice(0, 4)) {
    const n = parseInt(c, 36);
    rest = n > 9 ? (rest * 100 + n) % 97 : (rest * 10 + n) % 97;
  }
  return rest === 1;
}

const IBAN = /[a-z]{2}\p{Nd}\p{Nd}(?:(?:\r?\n|[ .\-])?[a-z0-9]){11,32}/uy;

// Grouped (by spaces, dashes, dots, line breaks) or not, found from their check digits (a digit
// run right after two letters, which may follow the word "iban"); cut back at group boundaries,
// or where a word runs on from its digits ("…5678thx"), until valid.
function* ibans(text, low, runs) {
  for (const [runStart] of runs) {
    const begin = runStart - 2;
    if (
      begin < 0 || !isAlpha(low[runStart - 1]) || !isAlpha(low[begin])
      || (begin && isAlnum(low[begin - 1]) && !low.endsWith("iban", begin))
    ) continue;
    IBAN.lastIndex = begin;
    const m = IBAN.exec(low);
    if (!m) continue;
    const found = m[0];
    const ends = new Set([...found.matchAll(/[a-z0-9]+/g)].map((p) => p.index + p[0].length));
    for (let i = 5; i < found.length; i++) if (isDigit(found[i - 1]) && isAlpha(found[i])) ends.add(i);
    for (const cut of [...ends].sort((a, b) => b - a)) {
      const value = text.slice(begin, begin + cut);
      if (value.length >= 15 && ibanValid(value)) {
        yield { kind: "iban", start: begin, end: begin + cut, masked: keepLast(value, 4, { first: 2 }) };
        break;
      }
    }
  }
}

// --- US SSNs -----------------------------------------------------------------------------
// Never the ranges that are not issued (area 000, 666, 900-999; group 00; serial 0000) nor the
// numbers python-stdnum blacklists (the Woolworth wallet card's, and two advertised ones).
const SSN_BLACKLIST = new Set(["078051120", "457555462", "219099999"]);
const SSN_FORMATTED = /(?<![\p{Nd}\-./])\p{Nd}{3}([ \-])\p{Nd}\p{Nd}\1\p{Nd}{4}(?![\p{Nd}\-]|[./]\p{Nd})/gu;
const SSN_LABELLED = new RegExp(
  `(?:ssn|social\\s+security(?:\\s+(?:number|no\\.?|#))?)${NW}{0,3}(?:is\\s+)?`
  + "(\\p{Nd}{3}[ \\-.]?\\p{Nd}\\p{Nd}[ \\-.]?\\p{Nd}{4})(?!\\p{Nd})", "uy",
);

function ssnFinding(text, start, end) {
  const value = text.slice(start, end);
  if (!/^\p{Nd}{3}[ \-.]?\p{Nd}{2}[ \-.]?\p{Nd}{4}$/u.test(value)) return null;
  const d = digitsOf(value).join("");
  const [area, group, serial] = [d.slice(0, 3), d.slice(3, 5), d.slice(5)];
  if (area === "000" || area === "666" || area[0] === "9" || group === "00" || serial === "0000" || SSN_BLACKLIST.has(d)) return null;
  return { kind: "ssn", start, end, masked: keepLast(value, 0) };
}

function* ssns(text, runs) {
  for (const [runStart, runEnd] of runs) {
    if (runEnd - runStart < 11) continue;
    const upToRunEnd = text.slice(0, runEnd);
    SSN_FORMATTED.lastIndex = runStart;
    for (let m; (m = SSN_FORMATTED.exec(upToRunEnd));) {
      const finding = ssnFinding(text, m.index, m.index + m[0].length);
      if (finding) yield finding;
    }
  }
}

// Nine bare digits are an SSN only after a label.
function* labelledSsn(text, low, at) {
  SSN_LABELLED.lastIndex = at;
  const m = SSN_LABELLED.exec(low);
  if (m) {
    const start = m.index + m[0].length - m[1].length;
    const finding = ssnFinding(text, start, start + m[1].length);
    if (finding) yield finding;
  }
}

// --- e-mail addresses --------------------------------------------------------------------
const LOCAL = /[\p{L}\p{N}_.+%\-]{1,64}$/u;
const DOMAIN = new RegExp(`[A-Za-z0-9\\-]+(?:\\.[A-Za-z0-9\\-]+)*\\.[A-Za-z]{2,24}${NOT_AFTER_WORD}`, "uy");

// But those at `keepDomains` (the business's own, which agents give out).
function* emails(text, keepDomains) {
  const kept = new Set(keepDomains.map((domain) => domain.toLowerCase()));
  for (let at = text.indexOf("@"); at >= 0; at = text.indexOf("@", at + 1)) {
    const from = Math.max(0, at - 64);
    const local = LOCAL.exec(text.slice(from, at));
    DOMAIN.lastIndex = at + 1;
    const domain = DOMAIN.exec(text);
    if (local && domain && !kept.has(domain[0].toLowerCase())) {
      const start = from + local.index;
      yield { kind: "email", start, end: DOMAIN.lastIndex, masked: `${MASK.repeat(Math.min(3, codePoints(local[0]).length))}@${domain[0]}` };
    }
  }
}

// --- passwords ---------------------------------------------------------------------------
// The label stays in the text and only the value is masked ("my password is ••••••"). The
// browser also takes "passcode" for a password label (the server calls a code after it a
// one-time code; either way it is masked).
const PW_LABEL = "pass(?:word|wd|phrase)|passcode|pwd?|passwort|kennwort|wachtwoord|mot\\s+de\\s+passe|contrase[ñn]a|senha";
const PW_WORDS = new RegExp(
  `(?<![\\p{L}\\p{N}${MASK}])(?:password|passwd|passphrase|passcode|pass|pw|pwd|passwort|kennwort|wachtwoord|mot`
  + `|contraseña|contrasena|senha|ssn|social)(?![\\p{L}\\p{N}${MASK}])`, "gu",
);
// "password is X", "password: X", "password for my account is X": any value but everyday words.
const PASSWORD_SAID = new RegExp(
  `(?:${PW_LABEL}|pass)${NOT_AFTER_WORD}(?:\\s+(?:for|to|on|of)${NOT_AFTER_WORD}[^\\n:=.!?]{0,30}?)?`
  + `(?:\\s+(?:(?:is|was|will\\s+be|would\\s+be)${NOT_AFTER_WORD}|=(?=${W}))\\s*:?|\\s*[:=]|\\s+-)\\s*["'“‘«]?(?<value>\\S+)`,
  "uy",
);
// "pw X", "password X": only a value that does not read like a word (a digit, a symbol, inner capitals).
const PASSWORD_BARE = new RegExp(`(?:${PW_LABEL})\\s+["'“‘«]?(?<value>\\S+)`, "uy");
// "changed my password to X": as a bare value (it must not read like a word: "password to reset").
const PASSWORD_TO = new RegExp(`(?:${PW_LABEL})\\s+(?:to|into)\\s+["'“‘«]?(?<value>\\S+)`, "uy");
const NOT_PASSWORDS = new Set((
  "not wrong incorrect invalid expired correct right the same too very still being now blocked locked case "
  + "different changed reset working a an my your his her our their what which this that it its definitely "
  + "also probably no ok okay fine weak strong long short empty missing saved stored in on for of at by to "
  + "required needed forgotten forgot compromised please and or but if when so because manager field box "
  + "policy protected rules requirements change recovery hint sent stolen hacked leaked there here all only "
  + "just never always somehow apparently again").split(" "));
const TRAILING = /[.,;:!?)\]}"'”’»]+$/u;

const isLower = (value) => value === value.toLowerCase() && value !== value.toUpperCase();
const looksLikeWord = (value) => /^\p{L}+$/u.test(value) && (isLower(value) || isLower(codePoints(value).slice(1).join("")));

// The value with closing quotes and sentence punctuation cut, or null if it is no password.
function passwordValue(value, said) {
  const cut = value.replace(TRAILING, "");
  value = codePoints(cut).length >= 4 ? cut : value;
  if (codePoints(value).length < 4 || value.includes(MASK)) return null;
  const plain = value.toLowerCase();
  if (NOT_PASSWORDS.has(plain) || NOT_PASSWORDS.has(plain.split("-")[0])) return null;
  if (looksLikeWord(value) && (!said || /(?:ed|ing|ly|able|ible)$/u.test(plain))) return null;
  return value;
}

function* password(text, low, at) {
  for (const [pattern, said] of [[PASSWORD_SAID, true], [PASSWORD_BARE, false], [PASSWORD_TO, false]]) {
    pattern.lastIndex = at;
    const m = pattern.exec(low);
    if (!m) continue;
    const start = m.index + m[0].length - m.groups.value.length;
    const value = passwordValue(text.slice(start, m.index + m[0].length), said);
    // Every reading of the label (as the server): one inside a card still leaves the other's value.
    if (value !== null) yield { kind: "password", start, end: start + value.length, masked: secret(value) };
  }
}

function* labelled(text, low) {
  for (const m of low.matchAll(PW_WORDS)) {
    yield* (m[0] === "ssn" || m[0] === "social" ? labelledSsn : password)(text, low, m.index);
  }
}

// --- all together ------------------------------------------------------------------------
// The findings in `text`, in order, not overlapping; where they overlap, the kind first in KINDS
// wins, then the longest. `kinds` limits the result (what the business masks; default all of KINDS).
export function findSecrets(text, { kinds = KINDS, keepDomains = [] } = {}) {
  const low = lowered(text);
  const runs = digitRuns(text);
  const longRuns = runs.filter(([start, end]) => end - start >= 7);
  const found = [
    ...labelled(text, low), ...emails(text, keepDomains), ...cards(text, low, longRuns), ...ssns(text, longRuns),
    ...ibans(text, low, runs),
  ];
  const rank = (f) => KINDS.indexOf(f.kind);
  found.sort((a, b) => rank(a) - rank(b) || (a.start - a.end) - (b.start - b.end) || a.start - b.start);
  const chosen = [];
  for (const f of found) {
    if (touchesMask(text, f.start, f.end)) continue;
    if (chosen.every((other) => f.end <= other.start || f.start >= other.end)) chosen.push(f);
  }
  return chosen.filter((f) => kinds.includes(f.kind)).sort((a, b) => a.start - b.start);
}

// `text` with every finding replaced by its mask, and the kinds masked (sorted, each once).
export function maskSecrets(text, options = {}) {
  const findings = findSecrets(text, options);
  let masked = "", at = 0;
  for (const f of findings) { masked += text.slice(at, f.start) + f.masked; at = f.end; }
  return { text: masked + text.slice(at), kinds: [...new Set(findings.map((f) => f.kind))].sort() };
}
