/**
 * Silver entity labels: gazetteers and patterns, not people, mark PER, LOC, ORG, DATE and MONEY in public text.
 * They are what the ner-encoder fixture learns and is scored against, so its F1 measures how well it learned
 * these rules, not how well it finds entities as a person would. Spans are UTF-16 offsets here; the data builder
 * writes code points.
 */

export interface SilverEntity {
  start: number;
  end: number;
  type: "PER" | "LOC" | "ORG" | "DATE" | "MONEY";
}

const MONTHS =
  "January|February|March|April|May|June|July|August|September|October|November|December|(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\\.?";
const WEEKDAYS = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|Mon|Tue|Wed|Thu|Fri|Sat|Sun";

const LOCATIONS = [
  // Continents, oceans, regions
  "Africa", "Asia", "Europe", "North America", "South America", "Central America", "Latin America", "Antarctica",
  "Australia", "United States", "Pacific Ocean", "Atlantic Ocean", "Indian Ocean", "Gulf of Mexico",
  "Mediterranean", "Caribbean", "Middle East", "Far East", "Persian Gulf", "Panama Canal", "Mississippi",
  "Missouri River", "Ohio River", "Rocky Mountains", "Nantucket", "Cape Horn", "Cape of Good Hope",
  // Countries
  "Afghanistan", "Algeria", "Argentina", "Austria", "Belgium", "Bolivia", "Brazil", "Bulgaria", "Burma", "Cambodia",
  "Canada", "Chile", "China", "Colombia", "Costa Rica", "Cuba", "Czechoslovakia", "Denmark", "Ecuador", "Egypt",
  "El Salvador", "England", "Ethiopia", "Finland", "France", "Germany", "Great Britain", "Britain", "Greece",
  "Guatemala", "Haiti", "Hawaii", "Honduras", "Hungary", "India", "Indonesia", "Iran", "Iraq", "Ireland", "Israel",
  "Italy", "Japan", "Jordan", "Korea", "North Korea", "South Korea", "Kuwait", "Laos", "Lebanon", "Liberia", "Libya",
  "Mexico", "Morocco", "Netherlands", "Holland", "New Zealand", "Nicaragua", "Nigeria", "Norway", "Pakistan",
  "Panama", "Paraguay", "Peru", "Philippines", "Poland", "Portugal", "Puerto Rico", "Romania", "Russia", "Samoa",
  "Saudi Arabia", "Scotland", "Serbia", "Somalia", "Spain", "Sweden", "Switzerland", "Syria", "Taiwan", "Thailand",
  "Tunisia", "Turkey", "Ukraine", "United Kingdom", "Uruguay", "Venezuela", "Vietnam", "Viet-Nam", "Yugoslavia",
  "Soviet Union", "Prussia", "Persia", "Siam", "Tripoli", "Algiers", "Morocco",
  // US states
  "Alabama", "Alaska", "Arizona", "Arkansas", "California", "Colorado", "Connecticut", "Delaware", "Florida",
  "Georgia", "Idaho", "Illinois", "Indiana", "Iowa", "Kansas", "Kentucky", "Louisiana", "Maine", "Maryland",
  "Massachusetts", "Michigan", "Minnesota", "Mississippi", "Missouri", "Montana", "Nebraska", "Nevada",
  "New Hampshire", "New Jersey", "New Mexico", "New York", "North Carolina", "North Dakota", "Ohio", "Oklahoma",
  "Oregon", "Pennsylvania", "Rhode Island", "South Carolina", "South Dakota", "Tennessee", "Texas", "Utah",
  "Vermont", "Virginia", "West Virginia", "Wisconsin", "Wyoming", "Oregon Territory",
  // Cities
  "Washington, D.C.", "Boston", "Chicago", "Los Angeles", "San Francisco", "Philadelphia", "New Orleans",
  "Baltimore", "Detroit", "Atlanta", "Seattle", "Dallas", "Houston", "Miami", "St. Louis", "Pittsburgh",
  "Cleveland", "Denver", "Richmond", "Charleston", "London", "Paris", "Berlin", "Moscow", "Tokyo", "Beijing",
  "Peking", "Rome", "Madrid", "Vienna", "Geneva", "Brussels", "Amsterdam", "Dublin", "Havana", "Baghdad",
  "Kabul", "Cairo", "Jerusalem", "Saigon", "Hanoi", "Seoul", "Manila", "Mexico City", "Toronto", "Montreal",
  "Vancouver", "Sydney", "Hong Kong", "Singapore", "Bombay", "Shanghai", "Berkeley", "Cambridge", "Oxford",
  "Silicon Valley", "Redmond", "Seattle", "Austin", "Portland", "San Diego", "San Jose", "Palo Alto",
];

const ORGANIZATIONS = [
  "Congress", "Senate", "House of Representatives", "Supreme Court", "United Nations", "NATO",
  "Federal Reserve", "Pentagon", "White House", "Treasury", "State Department", "Peace Corps", "Red Cross",
  "League of Nations", "European Union", "World Bank", "International Monetary Fund", "Marine Corps", "Navy",
  "Army", "Air Force", "Coast Guard", "Bank of the United States", "Interstate Commerce Commission",
  "Federal Trade Commission", "Social Security Administration", "Environmental Protection Agency", "FBI", "CIA",
  "NASA", "FCC", "SEC", "IRS", "EPA", "Warsaw Pact", "Common Market", "OPEC", "Democratic Party",
  "Republican Party", "Microsoft", "IBM", "Apple", "Google", "Yahoo", "AOL", "Netscape", "Red Hat", "Sun Microsystems",
  "Oracle", "Intel", "AMD", "Dell", "Compaq", "Hewlett-Packard", "Amazon", "eBay", "PayPal", "Reuters", "CNN", "BBC",
  "Slashdot", "SourceForge", "Debian", "Mozilla", "Apache", "Linux Journal", "ZDNet", "CNET", "Wired", "PC World",
  "New York Times", "Washington Post", "Wall Street Journal", "Associated Press", "SpamAssassin", "Razor",
  "Verisign", "AT&T", "Verizon", "Sprint", "Comcast", "Earthlink", "Hotmail", "Motorola", "Nokia", "Sony",
  "Toshiba", "Xerox", "Enron", "WorldCom", "Citibank", "Visa", "MasterCard", "American Express", "Nasdaq",
];

const FIRST_NAMES = [
  "James", "John", "Robert", "Michael", "William", "David", "Richard", "Joseph", "Thomas", "Charles", "Christopher",
  "Daniel", "Matthew", "Anthony", "Mark", "Donald", "Steven", "Paul", "Andrew", "Joshua", "Kenneth", "Kevin",
  "Brian", "George", "Edward", "Ronald", "Timothy", "Jason", "Jeffrey", "Ryan", "Jacob", "Gary", "Nicholas", "Eric",
  "Jonathan", "Stephen", "Larry", "Justin", "Scott", "Brandon", "Benjamin", "Samuel", "Frank", "Gregory", "Raymond",
  "Alexander", "Patrick", "Jack", "Dennis", "Jerry", "Tyler", "Aaron", "Henry", "Adam", "Douglas", "Nathan", "Peter",
  "Zachary", "Kyle", "Walter", "Harold", "Jeremy", "Ethan", "Carl", "Keith", "Roger", "Gerald", "Christian", "Terry",
  "Sean", "Arthur", "Austin", "Noah", "Lawrence", "Jesse", "Joe", "Bryan", "Billy", "Jordan", "Albert", "Dylan",
  "Bruce", "Willie", "Gabriel", "Alan", "Juan", "Logan", "Wayne", "Ralph", "Roy", "Eugene", "Randy", "Vincent",
  "Russell", "Louis", "Philip", "Bobby", "Johnny", "Bradley", "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth",
  "Barbara", "Susan", "Jessica", "Sarah", "Karen", "Nancy", "Lisa", "Betty", "Margaret", "Sandra", "Ashley",
  "Kimberly", "Emily", "Donna", "Michelle", "Dorothy", "Carol", "Amanda", "Melissa", "Deborah", "Stephanie",
  "Rebecca", "Sharon", "Laura", "Cynthia", "Kathleen", "Amy", "Shirley", "Angela", "Helen", "Anna", "Brenda",
  "Pamela", "Nicole", "Emma", "Samantha", "Katherine", "Christine", "Debra", "Rachel", "Catherine", "Carolyn",
  "Janet", "Ruth", "Maria", "Heather", "Diane", "Virginia", "Julie", "Joyce", "Victoria", "Kelly", "Christina",
  "Joan", "Evelyn", "Lauren", "Judith", "Olivia", "Martha", "Cheryl", "Megan", "Andrea", "Hannah", "Jacqueline",
  "Ann", "Jean", "Alice", "Kathryn", "Gloria", "Teresa", "Doris", "Sara", "Janice", "Julia", "Marie", "Madison",
  "Grace", "Judy", "Theresa", "Beverly", "Denise", "Marilyn", "Amber", "Danielle", "Abigail", "Brittany", "Rose",
  "Diana", "Natalie", "Sophia", "Alexis", "Lori", "Kayla", "Jane", "Abraham", "Ulysses", "Woodrow", "Franklin",
  "Dwight", "Lyndon", "Herbert", "Calvin", "Grover", "Rutherford", "Chester", "Millard", "Zachary", "Andrew",
  "Martin", "Theodore", "Harry", "Jimmy", "Bill", "Barack", "Craig", "Tim", "Rob", "Chris", "Mike", "Dan", "Tom",
  "Jim", "Bob", "Steve", "Dave", "Matt", "Greg", "Jeff", "Ben", "Sam", "Nick", "Tony", "Geege", "Justin", "Rohit",
];

const FAMOUS_PEOPLE = [
  "Ahab", "Ishmael", "Queequeg", "Starbuck", "Stubb", "Flask", "Tashtego", "Daggoo", "Pip", "Fedallah", "Bildad",
  "Peleg", "Elijah", "Moby Dick", "Lincoln", "Jefferson", "Madison", "Monroe", "Jackson", "Van Buren", "Polk",
  "Fillmore", "Pierce", "Buchanan", "Grant", "Hayes", "Garfield", "Arthur", "Cleveland", "Harrison", "McKinley",
  "Roosevelt", "Taft", "Wilson", "Harding", "Coolidge", "Hoover", "Truman", "Eisenhower", "Kennedy", "Johnson",
  "Nixon", "Ford", "Carter", "Reagan", "Bush", "Clinton", "Obama", "Trump", "Bill Gates", "Linus Torvalds",
  "Shakespeare", "Milton", "Spenser", "Chaucer", "Dryden", "Pope", "Tennyson", "Bacon", "Napoleon", "Hitler",
  "Stalin", "Churchill", "Gorbachev", "Khrushchev", "Saddam Hussein", "Osama bin Laden", "Castro",
];

const TITLES = "Mr\\.|Mrs\\.|Ms\\.|Dr\\.|Prof\\.|President|Senator|Governor|General|Captain|Capt\\.|Secretary|Judge|Justice|Admiral|Colonel|Sir|Lord|Lady|King|Queen|Pope";

function alternation(words: readonly string[]): string {
  return [...new Set(words)]
    .sort((a, b) => b.length - a.length)
    .map((word) => word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/ /g, "\\s+"))
    .join("|");
}

const NAME = "[A-Z][a-z]+(?:-[A-Z][a-z]+)?";
const INITIAL = "(?:[A-Z]\\.\\s?)";

/** Each rule: its type, its pattern, and its priority when two overlap (higher wins; then the longer). */
const RULES: { type: SilverEntity["type"]; pattern: RegExp; priority: number; group?: number }[] = [
  {
    type: "MONEY",
    pattern:
      /(?:US)?\$\s?\d[\d,]*(?:\.\d+)?(?:\s(?:million|billion|trillion|thousand))?|\b\d[\d,]*(?:\.\d+)?\s(?:million\s|billion\s|thousand\s)?(?:dollars|cents)\b/g,
    priority: 5,
  },
  {
    type: "DATE",
    pattern: new RegExp(
      `\\b(?:(?:${WEEKDAYS}),?\\s)?(?:(?:${MONTHS})\\s\\d{1,2}(?:st|nd|rd|th)?(?:,?\\s\\d{4})?|\\d{1,2}(?:st|nd|rd|th)?\\s(?:day\\sof\\s)?(?:${MONTHS})(?:,?\\s\\d{4})?|(?:${MONTHS})(?:,?\\s\\d{4}))|\\b\\d{1,2}/\\d{1,2}/(?:\\d{4}|\\d{2})\\b|\\b(?:1[7-9]\\d\\d|20[0-2]\\d)\\b`,
      "g",
    ),
    priority: 4,
  },
  { type: "ORG", pattern: new RegExp(`\\b(?:${alternation(ORGANIZATIONS)})\\b`, "g"), priority: 3 },
  {
    type: "ORG",
    pattern: new RegExp(
      `\\b(?:(?!The\\b|This\\b|Our\\b|Your\\b|Their\\b|A\\b|An\\b)${NAME}\\s){1,3}(?:Inc\\.?|Corp\\.?|Corporation|Company|Co\\.|Ltd\\.?|LLC|Association|Institute|University|Commission|Bureau|Department|Agency)(?![A-Za-z])|\\b(?:University|Department|Bureau)\\sof\\s(?:the\\s)?${NAME}(?:\\s${NAME})?`,
      "g",
    ),
    priority: 3,
  },
  {
    type: "PER",
    pattern: new RegExp(
      `\\b(?:${TITLES})\\s(${INITIAL}*${NAME}(?:\\s${INITIAL}?${NAME})?)|\\b(?:${alternation(FIRST_NAMES)})\\s${INITIAL}?${NAME}\\b|\\b(?:${alternation(FAMOUS_PEOPLE)})\\b`,
      "g",
    ),
    priority: 2,
  },
  { type: "LOC", pattern: new RegExp(`\\b(?:${alternation(LOCATIONS)})\\b`, "g"), priority: 1 },
];

/** Words that look like names to the patterns but are not (sentence openers, months as names, …). */
const NOT_NAMES = new Set(["The", "This", "That", "These", "Those", "It", "In", "On", "At", "If", "We", "Our"]);

export function silverEntities(text: string): SilverEntity[] {
  const found: (SilverEntity & { priority: number })[] = [];
  for (const rule of RULES) {
    for (const match of text.matchAll(rule.pattern)) {
      let start = match.index;
      let end = start + match[0].length;
      // A titled name: the entity is the name, not the title.
      if (rule.type === "PER" && match[1] !== undefined) {
        start = end - match[1].length;
      }
      const first = text.slice(start, end).split(/\s/)[0] ?? "";
      if (rule.type === "PER" && NOT_NAMES.has(first)) continue;
      found.push({ start, end, type: rule.type, priority: rule.priority });
    }
  }
  // Overlaps: the higher priority, then the longer, keeps its span.
  found.sort((a, b) => b.priority - a.priority || b.end - b.start - (a.end - a.start) || a.start - b.start);
  const kept: SilverEntity[] = [];
  for (const entity of found)
    if (!kept.some((other) => entity.start < other.end && other.start < entity.end))
      kept.push({ start: entity.start, end: entity.end, type: entity.type });
  return kept.sort((a, b) => a.start - b.start);
}
