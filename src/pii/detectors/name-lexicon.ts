/**
 * Word knowledge for the person-name detector: first names from two well-kept lexicons
 * (`compromise`'s English lexicon and `gender-detection-from-name`'s English, French, Spanish,
 * Italian, German and Turkish lists), with `compromise` also telling which capitalised words are
 * ordinary words (determiners, verbs, months...) rather than names. Plus the multilingual cue words
 * that introduce a name: honorifics, greetings, labels and the words that mark organisations and places.
 *
 * @example
 * isFirstName('Lukas') // true
 * isFirstName('The')   // false (a determiner, even though one list has it as a name)
 */
import nlp from 'compromise';
import { getGender } from 'gender-detection-from-name';

/** compromise's word → tag(s) lexicon (typed as `object` by the library). */
const lexicon = (nlp.model() as { one: { lexicon: Record<string, unknown> } }).one.lexicon;

/** compromise tags that make a capitalised word an ordinary word rather than a first name. */
const NOT_A_FIRST_NAME =
  /Determiner|Preposition|Conjunction|Modal|Pronoun|Possessive|Adverb|Month|WeekDay|Copula|Auxiliary|QuestionWord|Verb|Tense|Infinitive|Gerund|Expression|Adjective|Plural|Singular|Actor|Value|Abbreviation|Honorific|Organization|Currency|Unit|Date/;
/** compromise tags that make a word a function word, never part of a name. */
const FUNCTION_WORD =
  /Determiner|Preposition|Conjunction|Modal|Pronoun|Possessive|QuestionWord|Copula|Auxiliary|Expression|Month|WeekDay|Honorific/;

function tagsOf(word: string): string {
  const tags = lexicon[word];
  if (tags === undefined) return '';
  return Array.isArray(tags) ? tags.join(',') : String(tags);
}

/** Lower case without accents: `Germán` → `german`. */
export function foldWord(word: string): string {
  return word
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase();
}

/** Whether `word` is a known given name (any of its hyphenated parts, e.g. `Jean-Luc`). */
export function isFirstName(word: string): boolean {
  return word.split(/[-']/).some((part) => part.length > 1 && isFirstNamePart(part));
}

function isFirstNamePart(part: string): boolean {
  const lower = part.toLowerCase();
  const folded = foldWord(part);
  const tags = tagsOf(lower) || tagsOf(folded);
  if (/FirstName|MaleName|FemaleName/.test(tags)) return true;
  if (tags && NOT_A_FIRST_NAME.test(tags)) return false;
  return getGender(lower) !== 'unknown' || getGender(folded) !== 'unknown';
}

/** Whether `word` is a surname compromise knows. */
export function isKnownLastName(word: string): boolean {
  return /LastName/.test(tagsOf(word.toLowerCase()));
}

/** Function words that can also be names (`Will`, `May`, `Jan`): only these tags make them breakers. */
const HARD_FUNCTION_WORD = /Determiner|Preposition|Conjunction|Pronoun|Possessive|QuestionWord|Copula|Auxiliary/;

/**
 * Whether `word` is a function word, month, weekday or interjection, which ends a name. Modal verbs,
 * months and weekdays that are also given names or surnames (`Will`, `May`, `Jan`) do not end one.
 */
export function isFunctionWord(word: string): boolean {
  const lower = word.toLowerCase();
  const tags = tagsOf(lower);
  if (tags === '' || !FUNCTION_WORD.test(tags) || /FirstName|MaleName|FemaleName|LastName/.test(tags)) return false;
  if (HARD_FUNCTION_WORD.test(tags)) return true;
  return getGender(lower) === 'unknown';
}

/** Whether `word` is a determiner (`the`, `der`, `le`, `el`...): people rarely follow one. */
export function isDeterminer(word: string): boolean {
  return /Determiner/.test(tagsOf(word.toLowerCase())) || DETERMINERS.has(word.toLowerCase());
}

const DETERMINERS = new Set(['the', 'der', 'die', 'das', 'le', 'la', 'les', 'el', 'los', 'las', 'het', 'il', 'lo', 'gli']);

/** Lower-case name particles that may be capitalised inside a name (`De Martino`, `Van Dijk`). */
export const PARTICLES = new Set([
  'van', 'von', 'der', 'den', 'de', 'del', 'della', 'dei', 'di', 'da', 'du', 'des', 'la', 'le', 'ten', 'ter',
  'zu', 'dos', 'das', 'do', 'lo', 'los', 'las', 'mac', 'mc', 'st', 'dell', 'y', 'e',
]);

/** Politeness words skipped when looking for the cue before a name ("Bel alsjeblieft Anna"). */
export const POLITENESS = new Set([
  'please', 'kindly', 'bitte', 'alsjeblieft', 'aub', 'svp', 'favor', 'favore', 'also', 'a', 'à', 'to', 'now',
]);

/** Titles before a name, several languages; matched case-sensitively with an optional dot. */
export const HONORIFICS = new Set([
  'Mr', 'Mrs', 'Ms', 'Miss', 'Mx', 'Dr', 'Prof', 'Sir', 'Dame', 'Lady', 'Lord', 'Rev',
  'Herr', 'Frau', 'Hr', 'Fr', 'Dipl', 'Ing',
  'M', 'Mme', 'Mlle', 'Me', 'Monsieur', 'Madame', 'Mademoiselle',
  'Sr', 'Sra', 'Srta', 'Sta', 'Don', 'Doña', 'Señor', 'Señora',
  'Dhr', 'Mevr', 'Mw', 'Mej',
  'Sig', 'Sig.ra', 'Sig.na', 'Signor', 'Signora', 'Dott', 'Dott.ssa', 'Avv',
]);

/** Words right before a name: greetings and sign-offs (lower-cased). */
export const GREETINGS = new Set([
  'dear', 'hi', 'hello', 'hey', 'thanks', 'thank you', 'cheers', 'regards', 'best', 'sincerely', 'yours',
  'hallo', 'liebe', 'lieber', 'geehrte', 'geehrter', 'grüße', 'gruß', 'danke',
  'bonjour', 'cher', 'chère', 'salut', 'merci', 'cordialement', 'bien à vous',
  'hola', 'estimado', 'estimada', 'querido', 'querida', 'saludos', 'gracias', 'atentamente',
  'beste', 'geachte', 'hoi', 'groet', 'groeten', 'bedankt',
  'caro', 'cara', 'gentile', 'buongiorno', 'ciao', 'saluti', 'grazie', 'cordiali saluti',
]);

/**
 * Labels and JSON keys whose value is a person (compared lower case without `_`, `-` and spaces):
 * `"customerName": "…"`, `Contact: …`, `Ansprechpartner: …`.
 */
export const PERSON_KEYS = new Set([
  'name', 'fullname', 'firstname', 'lastname', 'givenname', 'familyname', 'surname', 'middlename',
  'displayname', 'contact', 'contactname', 'contactperson', 'customer', 'customername', 'client',
  'clientname', 'accountholder', 'holder', 'holdername', 'cardholder', 'cardholdername', 'employee',
  'employeename', 'patient', 'patientname', 'recipient', 'recipientname', 'sender', 'sendername',
  'author', 'owner', 'ownername', 'assignee', 'reporter', 'approver', 'requester', 'requestedby',
  'createdby', 'updatedby', 'signedby', 'attn', 'attention', 'from', 'to', 'cc', 'bcc', 'signatory',
  'attendee', 'attendees', 'participants', 'manager', 'agent', 'person', 'nameofperson', 'beneficiary',
  'actor', 'member', 'guest', 'passenger', 'traveller', 'traveler', 'student', 'teacher', 'doctor', 'driver',
  'tenant', 'landlord', 'buyer', 'seller', 'payer', 'payee', 'witness', 'spouse', 'nextofkin',
  'emergencycontact', 'referrer', 'salesperson', 'salesrep', 'accountmanager', 'colleague', 'assignedto',
  'kunde', 'kundin', 'ansprechpartner', 'vorname', 'nachname', 'inhaber', 'kontoinhaber',
  'nom', 'prenom', 'prénom', 'nomcomplet', 'titulaire', 'destinataire',
  'nombre', 'apellido', 'apellidos', 'cliente', 'titular', 'destinatario',
  'naam', 'voornaam', 'achternaam', 'klant', 'contactpersoon', 'rekeninghouder',
  'nome', 'cognome', 'intestatario',
]);

/** Keys that say "person" on their own; plain `name`-like keys need name-looking words too. */
export const STRONG_PERSON_KEYS = new Set([
  'fullname', 'firstname', 'lastname', 'givenname', 'familyname', 'surname', 'middlename', 'contactname',
  'contactperson', 'customername', 'clientname', 'accountholder', 'holdername', 'cardholder',
  'cardholdername', 'employeename', 'patientname', 'recipientname', 'sendername', 'ownername',
  'vorname', 'nachname', 'kontoinhaber', 'prenom', 'prénom', 'nomcomplet', 'apellido', 'apellidos',
  'voornaam', 'achternaam', 'rekeninghouder', 'cognome', 'intestatario',
]);

/** Capitalised words that mark an organisation, a place or a document, not a person. */
export const NOT_NAME_WORDS = new Set([
  'Street', 'St', 'Road', 'Rd', 'Avenue', 'Ave', 'Lane', 'Drive', 'Court', 'Square', 'Way', 'Place',
  'Straße', 'Strasse', 'Weg', 'Allee', 'Platz', 'Gasse', 'Ring', 'Rue', 'Boulevard', 'Chemin', 'Impasse',
  'Calle', 'Avenida', 'Plaza', 'Paseo', 'Via', 'Viale', 'Piazza', 'Corso', 'Straat', 'Laan', 'Plein',
  'Gracht', 'GmbH', 'AG', 'KG', 'Ltd', 'Limited', 'LLC', 'LLP', 'Inc', 'Corp', 'Corporation', 'Co',
  'PLC', 'Plc', 'SA', 'SAS', 'SARL', 'SL', 'SpA', 'Srl', 'SRL', 'BV', 'NV', 'Group', 'Holding',
  'Holdings', 'Bank', 'University', 'College', 'School', 'Hospital', 'Clinic', 'Hotel', 'Team',
  'Department', 'Dept', 'Support', 'Service', 'Services', 'Solutions', 'Systems', 'Technologies',
  'Technology', 'Consulting', 'Logistics', 'International', 'Industries', 'Partners', 'Associates',
  'Invoice', 'Order', 'Customer', 'Account', 'Airport', 'Station', 'Centre', 'Center', 'Office',
  'Building', 'Park', 'Mall', 'Market', 'Foundation', 'Institute', 'Ministry', 'Council', 'Agency',
  'Re', 'Fwd', 'AW', 'WG', 'TR', 'RE', 'FW',
  'Asociados', 'Hijos', 'Hermanos', 'Figli', 'Fratelli', 'SPA', 'Sons', 'Fils', 'Söhne', 'Zonen', 'Brothers',
  'Bros', 'Cie', 'Compagnie', 'Gruppe', 'Groep', 'Gruppo', 'Grupo', 'Société', 'Sociedad', 'Società',
  'S.A', 'S.L', 'S.p.A', 'S.r.l', 'B.V', 'N.V', 'S.A.S', 'S.A.R.L', 'e.V', 'e.K', 'mbH',
  // Street types (USPS suffix list and European equivalents).
  'Alley', 'Bypass', 'Causeway', 'Circle', 'Close', 'Crescent', 'Crest', 'Croft', 'Crossing', 'Estate',
  'Estates', 'Expressway', 'Freeway', 'Gardens', 'Gateway', 'Grove', 'Harbor', 'Harbour',
  'Haven', 'Heights', 'Highway', 'Hollow', 'Junction', 'Knoll', 'Landing', 'Loop', 'Manor', 'Meadow',
  'Meadows', 'Mews', 'Motorway', 'Orchard', 'Parade', 'Parkway', 'Passage', 'Pike', 'Plains', 'Plaza',
  'Point', 'Port', 'Ridge', 'Route', 'Row', 'Spur', 'Stravenue', 'Summit', 'Terrace', 'Trace', 'Track',
  'Trail', 'Tunnel', 'Turnpike', 'Valley', 'Viaduct', 'View', 'Village', 'Ville', 'Vista', 'Walk', 'Wharf',
  'Damm', 'Chaussee', 'Ufer', 'Steig', 'Pfad', 'Stieg', 'Quai', 'Cours', 'Passage', 'Carrer', 'Camino',
  'Carretera', 'Ronda', 'Travesía', 'Glorieta', 'Vicolo', 'Largo', 'Contrada', 'Borgo', 'Kade', 'Dijk',
  'Steeg', 'Singel', 'Hof',
]);

/** Month and weekday names (German, French, Spanish, Dutch, Italian): never the first word of a name. */
export const DATE_WORDS = new Set([
  'Montag', 'Dienstag', 'Mittwoch', 'Donnerstag', 'Freitag', 'Samstag', 'Sonntag', 'Januar', 'Februar',
  'März', 'Mai', 'Juni', 'Juli', 'Oktober', 'Dezember', 'Lundi', 'Mardi', 'Mercredi', 'Jeudi', 'Vendredi',
  'Samedi', 'Dimanche', 'Janvier', 'Février', 'Mars', 'Avril', 'Juin', 'Juillet', 'Août', 'Septembre',
  'Octobre', 'Novembre', 'Décembre', 'Lunes', 'Martes', 'Miércoles', 'Jueves', 'Viernes', 'Sábado',
  'Domingo', 'Enero', 'Febrero', 'Marzo', 'Abril', 'Mayo', 'Junio', 'Julio', 'Agosto', 'Septiembre',
  'Octubre', 'Noviembre', 'Diciembre', 'Maandag', 'Dinsdag', 'Woensdag', 'Donderdag', 'Vrijdag',
  'Zaterdag', 'Zondag', 'Januari', 'Februari', 'Maart', 'Mei', 'Augustus', 'Lunedì', 'Martedì',
  'Mercoledì', 'Giovedì', 'Venerdì', 'Sabato', 'Gennaio', 'Febbraio', 'Aprile', 'Maggio', 'Giugno',
  'Luglio', 'Settembre', 'Ottobre', 'Dicembre',
]);

/** First words of place names: `San Fernando`, `West Burdette`, `Bad Homburg`. */
export const PLACE_PREFIXES = new Set([
  'San', 'Santa', 'Santo', 'São', 'Saint', 'Sainte', 'St', 'Ste', 'West', 'East', 'North', 'South',
  'New', 'Port', 'Fort', 'Lake', 'Mount', 'Puerto', 'Porto', 'Bad', 'Villa', 'Barrio', 'Lugar', 'Colonia',
  'Ciudad', 'Castel', 'Castello', 'Borgo', 'Monte', 'Nieuw', 'Oud', 'Groot', 'Klein', 'Alt', 'Neu',
  // Street types that come first: "Calle Mayor", "Via Roma", "Rue Neuve".
  'Calle', 'Avenida', 'Camino', 'Paseo', 'Plaza', 'Carrer', 'Rambla', 'Travesía', 'Urbanización', 'Vía',
  'Callejón', 'Ronda', 'Pasaje', 'Edificio', 'Cuesta', 'Glorieta', 'Alameda', 'Bloque', 'Escalinata',
  'Via', 'Viale', 'Piazza', 'Strada', 'Corso', 'Vicolo', 'Contrada', 'Largo', 'Rue', 'Allée', 'Impasse',
  'Quai', 'Chemin', 'Place', 'Boulevard', 'Avenue', 'Route', 'Rua', 'Travessa',
]);

/** Labels and JSON keys whose value is never a person (compared like `PERSON_KEYS`). */
export const NON_PERSON_KEYS = new Set([
  'company', 'companyname', 'organisation', 'organization', 'org', 'employer', 'business', 'city', 'town',
  'street', 'address', 'addressline', 'country', 'region', 'state', 'province', 'product', 'productname',
  'item', 'title', 'description', 'brand', 'vendor', 'supplier', 'merchant', 'bank', 'bankname', 'location',
  'place', 'office', 'department', 'team', 'project', 'subject', 'category', 'sku', 'tool', 'file',
  'filename', 'host', 'hostname', 'server', 'service', 'app', 'application', 'firma', 'unternehmen',
  'stadt', 'ort', 'straße', 'strasse', 'société', 'entreprise', 'ville', 'rue', 'empresa', 'ciudad',
  'calle', 'bedrijf', 'stad', 'straat', 'azienda', 'città', 'via', 're', 'fwd', 'fw', 'aw', 'wg', 'tr',
]);

/** Role nouns and verbs that are followed by a person: `contact`, `colleague`, `call`, `spoke with`. */
export const PERSON_CUES = new Set([
  'contact', 'customer', 'client', 'employee', 'colleague', 'manager', 'agent', 'driver', 'tenant',
  'landlord', 'beneficiary', 'recipient', 'sender', 'owner', 'user', 'patient', 'doctor', 'nurse',
  'director', 'ceo', 'cto', 'cfo', 'assignee', 'reporter', 'reviewer', 'approver', 'candidate', 'applicant',
  'call', 'ring', 'phone', 'email', 'e-mail', 'mail', 'ask', 'tell', 'thank', 'meet', 'met', 'ping',
  'with', 'by', 'cc', 'kollege', 'kollegin', 'kunde', 'kundin', 'mieter', 'ruf', 'anrufen', 'collègue',
  'appeler', 'avec', 'par', 'colega', 'compañero', 'compañera', 'llama', 'con', 'collega', 'chiama',
  'klant', 'bel', 'met', 'door', 'von', 'mit', 'durch',
]);
