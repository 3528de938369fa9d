/**
 * The ask evaluation set (issue 12): questions over Chinook, phrased the way a business user types them, each
 * with the gold SQL that answers it in the engine's dialect (DuckDB, tables as `chinook.main.<Table>`, the
 * SQLite copy of Chinook registered as the connection `chinook`).
 *
 * Conventions the gold SQL follows, so that a right answer can be recognised by its rows alone:
 *   - revenue is `sum(InvoiceLine.UnitPrice * InvoiceLine.Quantity)` for tracks, genres, albums and artists,
 *     and `sum(Invoice.Total)` for invoices, customers and countries (the two agree in total);
 *   - a person is two columns, first name then last name, unless the question asks for something else;
 *   - no rounding (the comparison allows a relative difference of 1e-6);
 *   - months and quarters are numbers (1–12, 1–4), years are numbers;
 *   - `ordered` is true only when the question asks for an order and the gold order has no ties; a top N
 *     whose rows tie inside the N is compared as a set (the N rows are still unambiguous: no tie at the cut);
 *   - relative dates ("last year") are read with now = NOW (2026-12-05): last year is 2025, the year before
 *     last is 2024. The gold SQL spells them as absolute dates; `relative` marks those questions.
 *
 * Invoices run from 2021-01-01 to 2025-12-22; every track costs 0.99 and every invoice line has quantity 1.
 */

export type Difficulty = 'easy' | 'join' | 'aggregate' | 'date' | 'nested'

export const DIFFICULTIES: readonly Difficulty[] = ['easy', 'aggregate', 'join', 'date', 'nested']

export interface BenchQuestion {
  /** Stable id, `<difficulty letter><number>`. */
  id: string
  question: string
  difficulty: Difficulty
  /** Gold SQL in the engine's dialect. */
  sql: string
  /** Whether the rows must come in the gold order. */
  ordered: boolean
  /** Reads "now" (fixed at NOW). */
  relative?: true
}

/** "Now" for the relative-date questions. */
export const NOW = '2026-12-05T12:00:00.000Z'

const C = 'chinook.main'

type Entry = [id: string, question: string, sql: string, ordered?: 'ordered', relative?: 'relative']

const EASY: Entry[] = [
  ['e01', 'how many customers do we have?', `SELECT count(*) FROM ${C}.Customer`],
  ['e02', 'how many tracks are in the catalog', `SELECT count(*) FROM ${C}.Track`],
  ['e03', 'total number of invoices', `SELECT count(*) FROM ${C}.Invoice`],
  ['e04', 'how many artists are there', `SELECT count(*) FROM ${C}.Artist`],
  ['e05', 'number of albums', `SELECT count(*) FROM ${C}.Album`],
  ['e06', 'how many employees work here?', `SELECT count(*) FROM ${C}.Employee`],
  ['e07', 'how many genres are there', `SELECT count(*) FROM ${C}.Genre`],
  ['e08', 'how many playlists exist', `SELECT count(*) FROM ${C}.Playlist`],
  ['e09', 'list all media types', `SELECT Name FROM ${C}.MediaType`],
  ['e10', 'show me all the genre names', `SELECT Name FROM ${C}.Genre`],
  ['e11', 'what is the total of all invoices ever', `SELECT sum(Total) FROM ${C}.Invoice`],
  ['e12', 'average invoice total', `SELECT avg(Total) FROM ${C}.Invoice`],
  ['e13', "what's the biggest invoice amount", `SELECT max(Total) FROM ${C}.Invoice`],
  ['e14', 'smallest invoice total', `SELECT min(Total) FROM ${C}.Invoice`],
  ['e15', 'how many customers are in Brazil', `SELECT count(*) FROM ${C}.Customer WHERE Country = 'Brazil'`],
  [
    'e16',
    'first and last names of our customers in Canada',
    `SELECT FirstName, LastName FROM ${C}.Customer WHERE Country = 'Canada'`,
  ],
  [
    'e17',
    'which customers live in Paris? first and last name',
    `SELECT FirstName, LastName FROM ${C}.Customer WHERE City = 'Paris'`,
  ],
  [
    'e18',
    'how many customers have a company name filled in',
    `SELECT count(*) FROM ${C}.Customer WHERE Company IS NOT NULL`,
  ],
  ['e19', 'emails of the customers in Germany', `SELECT Email FROM ${C}.Customer WHERE Country = 'Germany'`],
  ['e20', 'how many tracks have no composer', `SELECT count(*) FROM ${C}.Track WHERE Composer IS NULL`],
  [
    'e21',
    'how many tracks were composed by Steve Harris',
    `SELECT count(*) FROM ${C}.Track WHERE Composer = 'Steve Harris'`,
  ],
  ['e22', 'what is the longest track?', `SELECT Name FROM ${C}.Track ORDER BY Milliseconds DESC LIMIT 1`, 'ordered'],
  [
    'e23',
    'the 5 longest tracks with their length in milliseconds',
    `SELECT Name, Milliseconds FROM ${C}.Track ORDER BY Milliseconds DESC LIMIT 5`,
    'ordered',
  ],
  ['e24', 'name of the shortest track', `SELECT Name FROM ${C}.Track ORDER BY Milliseconds LIMIT 1`, 'ordered'],
  ['e25', 'how many invoices were billed to the USA', `SELECT count(*) FROM ${C}.Invoice WHERE BillingCountry = 'USA'`],
  ['e26', 'total amount billed to Canada', `SELECT sum(Total) FROM ${C}.Invoice WHERE BillingCountry = 'Canada'`],
  ['e27', 'average track length in minutes', `SELECT avg(Milliseconds) / 60000.0 FROM ${C}.Track`],
  [
    'e28',
    'which employees are sales support agents? first and last names',
    `SELECT FirstName, LastName FROM ${C}.Employee WHERE Title = 'Sales Support Agent'`,
  ],
  [
    'e29',
    'who is the general manager? first and last name',
    `SELECT FirstName, LastName FROM ${C}.Employee WHERE Title = 'General Manager'`,
  ],
  ['e30', 'how many invoices are over $15', `SELECT count(*) FROM ${C}.Invoice WHERE Total > 15`],
  [
    'e31',
    'invoice ids and totals of invoices above 20 dollars',
    `SELECT InvoiceId, Total FROM ${C}.Invoice WHERE Total > 20`,
  ],
  [
    'e32',
    'albums with "Greatest Hits" in the title',
    `SELECT Title FROM ${C}.Album WHERE Title LIKE '%Greatest Hits%'`,
  ],
  ['e33', 'total size of all tracks in bytes', `SELECT sum(Bytes) FROM ${C}.Track`],
  ['e34', "how many customers don't have a state", `SELECT count(*) FROM ${C}.Customer WHERE State IS NULL`],
  [
    'e35',
    'which track has the biggest file size',
    `SELECT Name FROM ${C}.Track ORDER BY Bytes DESC LIMIT 1`,
    'ordered',
  ],
  ['e36', 'how many different countries are our customers from', `SELECT count(DISTINCT Country) FROM ${C}.Customer`],
  [
    'e37',
    'list the US cities where we have customers',
    `SELECT DISTINCT City FROM ${C}.Customer WHERE Country = 'USA'`,
  ],
  [
    'e38',
    "what's the phone number of Luís Gonçalves",
    `SELECT Phone FROM ${C}.Customer WHERE FirstName = 'Luís' AND LastName = 'Gonçalves'`,
  ],
  ['e39', 'titles of the albums by artist id 22', `SELECT Title FROM ${C}.Album WHERE ArtistId = 22`],
  ['e40', 'tracks longer than 10 minutes: how many?', `SELECT count(*) FROM ${C}.Track WHERE Milliseconds > 600000`],
  [
    'e41',
    'how many customers have a yahoo email address',
    `SELECT count(*) FROM ${C}.Customer WHERE Email LIKE '%@yahoo.%'`,
  ],
  ['e42', 'names of tracks whose title starts with "Love"', `SELECT Name FROM ${C}.Track WHERE Name LIKE 'Love%'`],
]

const AGGREGATE: Entry[] = [
  ['a01', 'number of customers per country', `SELECT Country, count(*) FROM ${C}.Customer GROUP BY Country`],
  [
    'a02',
    'top 5 countries by number of customers',
    `SELECT Country, count(*) AS customers FROM ${C}.Customer GROUP BY Country ORDER BY customers DESC LIMIT 5`,
  ],
  [
    'a03',
    'how many invoices per billing country',
    `SELECT BillingCountry, count(*) FROM ${C}.Invoice GROUP BY BillingCountry`,
  ],
  ['a04', 'revenue by billing country', `SELECT BillingCountry, sum(Total) FROM ${C}.Invoice GROUP BY BillingCountry`],
  [
    'a05',
    'top 3 countries by revenue',
    `SELECT BillingCountry, sum(Total) AS revenue FROM ${C}.Invoice GROUP BY BillingCountry ORDER BY revenue DESC LIMIT 3`,
    'ordered',
  ],
  [
    'a06',
    'how many customers does each support rep id have',
    `SELECT SupportRepId, count(*) FROM ${C}.Customer GROUP BY SupportRepId`,
  ],
  [
    'a07',
    'average invoice total by billing country',
    `SELECT BillingCountry, avg(Total) FROM ${C}.Invoice GROUP BY BillingCountry`,
  ],
  [
    'a08',
    'which billing countries have more than 20 invoices',
    `SELECT BillingCountry FROM ${C}.Invoice GROUP BY BillingCountry HAVING count(*) > 20`,
  ],
  ['a09', 'number of employees by job title', `SELECT Title, count(*) FROM ${C}.Employee GROUP BY Title`],
  [
    'a10',
    'top 5 composers by number of tracks',
    `SELECT Composer, count(*) AS tracks FROM ${C}.Track WHERE Composer IS NOT NULL GROUP BY Composer ORDER BY tracks DESC LIMIT 5`,
    'ordered',
  ],
  [
    'a11',
    'the largest invoice total in each billing country',
    `SELECT BillingCountry, max(Total) FROM ${C}.Invoice GROUP BY BillingCountry`,
  ],
  ['a12', 'invoice count per customer id', `SELECT CustomerId, count(*) FROM ${C}.Invoice GROUP BY CustomerId`],
  ['a13', 'countries with only one customer', `SELECT Country FROM ${C}.Customer GROUP BY Country HAVING count(*) = 1`],
  [
    'a14',
    'number of customers per city in Brazil',
    `SELECT City, count(*) FROM ${C}.Customer WHERE Country = 'Brazil' GROUP BY City`,
  ],
  ['a15', 'total quantity of tracks sold', `SELECT sum(Quantity) FROM ${C}.InvoiceLine`],
  ['a16', 'how many different tracks have been sold', `SELECT count(DISTINCT TrackId) FROM ${C}.InvoiceLine`],
  ['a17', 'average number of lines per invoice', `SELECT count(*) / count(DISTINCT InvoiceId) FROM ${C}.InvoiceLine`],
  [
    'a18',
    'in how many US states do we have customers',
    `SELECT count(DISTINCT State) FROM ${C}.Customer WHERE Country = 'USA'`,
  ],
  ['a19', 'minimum, maximum and average invoice total', `SELECT min(Total), max(Total), avg(Total) FROM ${C}.Invoice`],
  [
    'a20',
    'composers with more than 20 tracks',
    `SELECT Composer FROM ${C}.Track WHERE Composer IS NOT NULL GROUP BY Composer HAVING count(*) > 20`,
  ],
  [
    'a21',
    'number of invoices and revenue per state for US invoices',
    `SELECT BillingState, count(*), sum(Total) FROM ${C}.Invoice WHERE BillingCountry = 'USA' GROUP BY BillingState`,
  ],
  [
    'a22',
    'how many invoices are there for each invoice total amount',
    `SELECT Total, count(*) FROM ${C}.Invoice GROUP BY Total`,
  ],
  [
    'a23',
    'what is the most common invoice total',
    `SELECT Total FROM ${C}.Invoice GROUP BY Total ORDER BY count(*) DESC LIMIT 1`,
    'ordered',
  ],
  [
    'a24',
    'support rep ids ranked by number of customers, most first',
    `SELECT SupportRepId, count(*) AS customers FROM ${C}.Customer GROUP BY SupportRepId ORDER BY customers DESC`,
    'ordered',
  ],
  ['a25', 'how many employees in each city', `SELECT City, count(*) FROM ${C}.Employee GROUP BY City`],
  ['a26', 'total revenue per billing city', `SELECT BillingCity, sum(Total) FROM ${C}.Invoice GROUP BY BillingCity`],
  [
    'a27',
    'the billing city with the highest revenue',
    `SELECT BillingCity FROM ${C}.Invoice GROUP BY BillingCity ORDER BY sum(Total) DESC LIMIT 1`,
    'ordered',
  ],
  [
    'a28',
    'average track length in seconds per media type id',
    `SELECT MediaTypeId, avg(Milliseconds) / 1000.0 FROM ${C}.Track GROUP BY MediaTypeId`,
  ],
  ['a29', 'number of tracks per genre id', `SELECT GenreId, count(*) FROM ${C}.Track GROUP BY GenreId`],
  [
    'a30',
    'how many customers per country, only countries with at least 3 customers',
    `SELECT Country, count(*) FROM ${C}.Customer GROUP BY Country HAVING count(*) >= 3`,
  ],
  [
    'a31',
    'total revenue for invoices billed to Europe: France, Germany, Spain, Italy and Portugal',
    `SELECT sum(Total) FROM ${C}.Invoice WHERE BillingCountry IN ('France', 'Germany', 'Spain', 'Italy', 'Portugal')`,
  ],
  [
    'a32',
    'how many tracks per album id, for album 1 to 5',
    `SELECT AlbumId, count(*) FROM ${C}.Track WHERE AlbumId BETWEEN 1 AND 5 GROUP BY AlbumId`,
  ],
  ['a33', 'sum of track lengths in hours', `SELECT sum(Milliseconds) / 3600000.0 FROM ${C}.Track`],
  [
    'a34',
    'number of invoices with a total under 2 dollars per country',
    `SELECT BillingCountry, count(*) FROM ${C}.Invoice WHERE Total < 2 GROUP BY BillingCountry`,
  ],
  [
    'a35',
    'the 2 billing countries with the most invoices, with their invoice counts',
    `SELECT BillingCountry, count(*) AS invoices FROM ${C}.Invoice GROUP BY BillingCountry ORDER BY invoices DESC LIMIT 2`,
    'ordered',
  ],
]

const JOIN: Entry[] = [
  [
    'j01',
    'top 5 genres by revenue',
    `SELECT g.Name, sum(il.UnitPrice * il.Quantity) AS revenue
     FROM ${C}.InvoiceLine il JOIN ${C}.Track t ON t.TrackId = il.TrackId JOIN ${C}.Genre g ON g.GenreId = t.GenreId
     GROUP BY g.Name ORDER BY revenue DESC LIMIT 5`,
    'ordered',
  ],
  [
    'j02',
    'number of tracks per genre',
    `SELECT g.Name, count(*) FROM ${C}.Track t JOIN ${C}.Genre g ON g.GenreId = t.GenreId GROUP BY g.Name`,
  ],
  [
    'j03',
    'how many tracks does each media type have',
    `SELECT m.Name, count(*) FROM ${C}.Track t JOIN ${C}.MediaType m ON m.MediaTypeId = t.MediaTypeId GROUP BY m.Name`,
  ],
  [
    'j04',
    'albums by AC/DC',
    `SELECT al.Title FROM ${C}.Album al JOIN ${C}.Artist ar ON ar.ArtistId = al.ArtistId WHERE ar.Name = 'AC/DC'`,
  ],
  [
    'j05',
    'how many albums does Iron Maiden have',
    `SELECT count(*) FROM ${C}.Album al JOIN ${C}.Artist ar ON ar.ArtistId = al.ArtistId WHERE ar.Name = 'Iron Maiden'`,
  ],
  [
    'j06',
    'tracks on the album Let There Be Rock',
    `SELECT t.Name FROM ${C}.Track t JOIN ${C}.Album al ON al.AlbumId = t.AlbumId WHERE al.Title = 'Let There Be Rock'`,
  ],
  [
    'j07',
    'which artist has the most albums',
    `SELECT ar.Name FROM ${C}.Album al JOIN ${C}.Artist ar ON ar.ArtistId = al.ArtistId
     GROUP BY ar.Name ORDER BY count(*) DESC LIMIT 1`,
    'ordered',
  ],
  [
    'j08',
    'top 3 artists by number of tracks',
    `SELECT ar.Name, count(*) AS tracks FROM ${C}.Track t JOIN ${C}.Album al ON al.AlbumId = t.AlbumId
     JOIN ${C}.Artist ar ON ar.ArtistId = al.ArtistId GROUP BY ar.Name ORDER BY tracks DESC LIMIT 3`,
    'ordered',
  ],
  [
    'j09',
    'top 5 customers by total spent: first name, last name and total',
    `SELECT c.FirstName, c.LastName, sum(i.Total) AS spent FROM ${C}.Invoice i JOIN ${C}.Customer c ON c.CustomerId = i.CustomerId
     GROUP BY c.CustomerId, c.FirstName, c.LastName ORDER BY spent DESC LIMIT 5`,
  ],
  [
    'j10',
    'which sales support agent brought in the most sales? first and last name',
    `SELECT e.FirstName, e.LastName FROM ${C}.Invoice i JOIN ${C}.Customer c ON c.CustomerId = i.CustomerId
     JOIN ${C}.Employee e ON e.EmployeeId = c.SupportRepId GROUP BY e.EmployeeId, e.FirstName, e.LastName
     ORDER BY sum(i.Total) DESC LIMIT 1`,
    'ordered',
  ],
  [
    'j11',
    'sales per support rep: first name, last name, total',
    `SELECT e.FirstName, e.LastName, sum(i.Total) FROM ${C}.Invoice i JOIN ${C}.Customer c ON c.CustomerId = i.CustomerId
     JOIN ${C}.Employee e ON e.EmployeeId = c.SupportRepId GROUP BY e.EmployeeId, e.FirstName, e.LastName`,
  ],
  [
    'j12',
    'how many customers does Jane Peacock look after',
    `SELECT count(*) FROM ${C}.Customer c JOIN ${C}.Employee e ON e.EmployeeId = c.SupportRepId
     WHERE e.FirstName = 'Jane' AND e.LastName = 'Peacock'`,
  ],
  [
    'j13',
    'who does Nancy Edwards report to? first and last name',
    `SELECT m.FirstName, m.LastName FROM ${C}.Employee e JOIN ${C}.Employee m ON m.EmployeeId = e.ReportsTo
     WHERE e.FirstName = 'Nancy' AND e.LastName = 'Edwards'`,
  ],
  [
    'j14',
    'track names in the Grunge playlist',
    `SELECT t.Name FROM ${C}.PlaylistTrack pt JOIN ${C}.Playlist p ON p.PlaylistId = pt.PlaylistId
     JOIN ${C}.Track t ON t.TrackId = pt.TrackId WHERE p.Name = 'Grunge'`,
  ],
  [
    'j15',
    'how many tracks are in the Heavy Metal Classic playlist',
    `SELECT count(*) FROM ${C}.PlaylistTrack pt JOIN ${C}.Playlist p ON p.PlaylistId = pt.PlaylistId
     WHERE p.Name = 'Heavy Metal Classic'`,
  ],
  [
    'j16',
    'which genre has the longest average track length',
    `SELECT g.Name FROM ${C}.Track t JOIN ${C}.Genre g ON g.GenreId = t.GenreId
     GROUP BY g.Name ORDER BY avg(t.Milliseconds) DESC LIMIT 1`,
    'ordered',
  ],
  [
    'j17',
    'revenue by media type',
    `SELECT m.Name, sum(il.UnitPrice * il.Quantity) FROM ${C}.InvoiceLine il JOIN ${C}.Track t ON t.TrackId = il.TrackId
     JOIN ${C}.MediaType m ON m.MediaTypeId = t.MediaTypeId GROUP BY m.Name`,
  ],
  [
    'j18',
    'how many invoices does Helena Holý have',
    `SELECT count(*) FROM ${C}.Invoice i JOIN ${C}.Customer c ON c.CustomerId = i.CustomerId
     WHERE c.FirstName = 'Helena' AND c.LastName = 'Holý'`,
  ],
  [
    'j19',
    'albums with more than 20 tracks',
    `SELECT al.Title FROM ${C}.Track t JOIN ${C}.Album al ON al.AlbumId = t.AlbumId
     GROUP BY al.AlbumId, al.Title HAVING count(*) > 20`,
  ],
  [
    'j20',
    'what genre is Enter Sandman',
    `SELECT DISTINCT g.Name FROM ${C}.Track t JOIN ${C}.Genre g ON g.GenreId = t.GenreId WHERE t.Name = 'Enter Sandman'`,
  ],
  [
    'j21',
    'how many different customers bought jazz tracks',
    `SELECT count(DISTINCT i.CustomerId) FROM ${C}.InvoiceLine il JOIN ${C}.Invoice i ON i.InvoiceId = il.InvoiceId
     JOIN ${C}.Track t ON t.TrackId = il.TrackId JOIN ${C}.Genre g ON g.GenreId = t.GenreId WHERE g.Name = 'Jazz'`,
  ],
  [
    'j22',
    'top 3 artists by revenue',
    `SELECT ar.Name, sum(il.UnitPrice * il.Quantity) AS revenue FROM ${C}.InvoiceLine il
     JOIN ${C}.Track t ON t.TrackId = il.TrackId JOIN ${C}.Album al ON al.AlbumId = t.AlbumId
     JOIN ${C}.Artist ar ON ar.ArtistId = al.ArtistId GROUP BY ar.Name ORDER BY revenue DESC LIMIT 3`,
    'ordered',
  ],
  [
    'j23',
    'best selling album by revenue',
    `SELECT al.Title FROM ${C}.InvoiceLine il JOIN ${C}.Track t ON t.TrackId = il.TrackId
     JOIN ${C}.Album al ON al.AlbumId = t.AlbumId GROUP BY al.AlbumId, al.Title
     ORDER BY sum(il.UnitPrice * il.Quantity) DESC LIMIT 1`,
    'ordered',
  ],
  [
    'j24',
    'who is the artist of the album Jagged Little Pill',
    `SELECT ar.Name FROM ${C}.Album al JOIN ${C}.Artist ar ON ar.ArtistId = al.ArtistId WHERE al.Title = 'Jagged Little Pill'`,
  ],
  [
    'j25',
    'how many tracks do we have by Led Zeppelin',
    `SELECT count(*) FROM ${C}.Track t JOIN ${C}.Album al ON al.AlbumId = t.AlbumId
     JOIN ${C}.Artist ar ON ar.ArtistId = al.ArtistId WHERE ar.Name = 'Led Zeppelin'`,
  ],
  [
    'j26',
    'billing countries where someone bought classical music',
    `SELECT DISTINCT i.BillingCountry FROM ${C}.InvoiceLine il JOIN ${C}.Invoice i ON i.InvoiceId = il.InvoiceId
     JOIN ${C}.Track t ON t.TrackId = il.TrackId JOIN ${C}.Genre g ON g.GenreId = t.GenreId WHERE g.Name = 'Classical'`,
  ],
  [
    'j27',
    'names of the tracks on invoice 100',
    `SELECT t.Name FROM ${C}.InvoiceLine il JOIN ${C}.Track t ON t.TrackId = il.TrackId WHERE il.InvoiceId = 100`,
  ],
  [
    'j28',
    'total revenue from metal tracks',
    `SELECT sum(il.UnitPrice * il.Quantity) FROM ${C}.InvoiceLine il JOIN ${C}.Track t ON t.TrackId = il.TrackId
     JOIN ${C}.Genre g ON g.GenreId = t.GenreId WHERE g.Name = 'Metal'`,
  ],
  [
    'j29',
    'number of tracks on each Iron Maiden album',
    `SELECT al.Title, count(*) FROM ${C}.Track t JOIN ${C}.Album al ON al.AlbumId = t.AlbumId
     JOIN ${C}.Artist ar ON ar.ArtistId = al.ArtistId WHERE ar.Name = 'Iron Maiden' GROUP BY al.AlbumId, al.Title`,
  ],
  [
    'j30',
    'customers whose support rep is Margaret Park: first and last names',
    `SELECT c.FirstName, c.LastName FROM ${C}.Customer c JOIN ${C}.Employee e ON e.EmployeeId = c.SupportRepId
     WHERE e.FirstName = 'Margaret' AND e.LastName = 'Park'`,
  ],
  [
    'j31',
    'revenue per genre from US customers',
    `SELECT g.Name, sum(il.UnitPrice * il.Quantity) FROM ${C}.InvoiceLine il JOIN ${C}.Invoice i ON i.InvoiceId = il.InvoiceId
     JOIN ${C}.Track t ON t.TrackId = il.TrackId JOIN ${C}.Genre g ON g.GenreId = t.GenreId
     WHERE i.BillingCountry = 'USA' GROUP BY g.Name`,
  ],
  [
    'j32',
    'which media type sold the most tracks',
    `SELECT m.Name FROM ${C}.InvoiceLine il JOIN ${C}.Track t ON t.TrackId = il.TrackId
     JOIN ${C}.MediaType m ON m.MediaTypeId = t.MediaTypeId GROUP BY m.Name ORDER BY sum(il.Quantity) DESC LIMIT 1`,
    'ordered',
  ],
  [
    'j33',
    'average invoice total per support rep: first name, last name, average',
    `SELECT e.FirstName, e.LastName, avg(i.Total) FROM ${C}.Invoice i JOIN ${C}.Customer c ON c.CustomerId = i.CustomerId
     JOIN ${C}.Employee e ON e.EmployeeId = c.SupportRepId GROUP BY e.EmployeeId, e.FirstName, e.LastName`,
  ],
  [
    'j34',
    'number of customers each employee supports: first name, last name, customers',
    `SELECT e.FirstName, e.LastName, count(*) FROM ${C}.Customer c JOIN ${C}.Employee e ON e.EmployeeId = c.SupportRepId
     GROUP BY e.EmployeeId, e.FirstName, e.LastName`,
  ],
  [
    'j35',
    'revenue per artist for Queen, U2 and Metallica',
    `SELECT ar.Name, sum(il.UnitPrice * il.Quantity) FROM ${C}.InvoiceLine il JOIN ${C}.Track t ON t.TrackId = il.TrackId
     JOIN ${C}.Album al ON al.AlbumId = t.AlbumId JOIN ${C}.Artist ar ON ar.ArtistId = al.ArtistId
     WHERE ar.Name IN ('Queen', 'U2', 'Metallica') GROUP BY ar.Name`,
  ],
  [
    'j36',
    'how many tracks of each genre are on the Brazilian Music playlist',
    `SELECT g.Name, count(*) FROM ${C}.PlaylistTrack pt JOIN ${C}.Playlist p ON p.PlaylistId = pt.PlaylistId
     JOIN ${C}.Track t ON t.TrackId = pt.TrackId JOIN ${C}.Genre g ON g.GenreId = t.GenreId
     WHERE p.Name = 'Brazilian Music' GROUP BY g.Name`,
  ],
  [
    'j37',
    'employees with their manager: employee first name and manager first name',
    `SELECT e.FirstName, m.FirstName FROM ${C}.Employee e JOIN ${C}.Employee m ON m.EmployeeId = e.ReportsTo`,
  ],
  [
    'j38',
    'total spent by customers in each city of Canada',
    `SELECT c.City, sum(i.Total) FROM ${C}.Invoice i JOIN ${C}.Customer c ON c.CustomerId = i.CustomerId
     WHERE c.Country = 'Canada' GROUP BY c.City`,
  ],
]

const DATE: Entry[] = [
  [
    'd01',
    'how many invoices in 2024',
    `SELECT count(*) FROM ${C}.Invoice WHERE InvoiceDate >= TIMESTAMP '2024-01-01' AND InvoiceDate < TIMESTAMP '2025-01-01'`,
  ],
  [
    'd02',
    'total revenue in 2023',
    `SELECT sum(Total) FROM ${C}.Invoice WHERE InvoiceDate >= TIMESTAMP '2023-01-01' AND InvoiceDate < TIMESTAMP '2024-01-01'`,
  ],
  ['d03', 'revenue per year', `SELECT year(InvoiceDate), sum(Total) FROM ${C}.Invoice GROUP BY year(InvoiceDate)`],
  [
    'd04',
    'number of invoices per year',
    `SELECT year(InvoiceDate), count(*) FROM ${C}.Invoice GROUP BY year(InvoiceDate)`,
  ],
  [
    'd05',
    'monthly revenue in 2024 by month number',
    `SELECT month(InvoiceDate), sum(Total) FROM ${C}.Invoice WHERE year(InvoiceDate) = 2024 GROUP BY month(InvoiceDate)`,
  ],
  [
    'd06',
    'what was our revenue last year',
    `SELECT sum(Total) FROM ${C}.Invoice WHERE InvoiceDate >= TIMESTAMP '2025-01-01' AND InvoiceDate < TIMESTAMP '2026-01-01'`,
    undefined,
    'relative',
  ],
  [
    'd07',
    'how many invoices did we have the year before last',
    `SELECT count(*) FROM ${C}.Invoice WHERE InvoiceDate >= TIMESTAMP '2024-01-01' AND InvoiceDate < TIMESTAMP '2025-01-01'`,
    undefined,
    'relative',
  ],
  [
    'd08',
    'revenue in March 2024',
    `SELECT sum(Total) FROM ${C}.Invoice WHERE InvoiceDate >= TIMESTAMP '2024-03-01' AND InvoiceDate < TIMESTAMP '2024-04-01'`,
  ],
  [
    'd09',
    'number of invoices in Q1 2022',
    `SELECT count(*) FROM ${C}.Invoice WHERE InvoiceDate >= TIMESTAMP '2022-01-01' AND InvoiceDate < TIMESTAMP '2022-04-01'`,
  ],
  [
    'd10',
    'which month of 2023 had the highest revenue (month number)',
    `SELECT month(InvoiceDate) FROM ${C}.Invoice WHERE year(InvoiceDate) = 2023
     GROUP BY month(InvoiceDate) ORDER BY sum(Total) DESC LIMIT 1`,
    'ordered',
  ],
  [
    'd11',
    'revenue in the first half of 2025',
    `SELECT sum(Total) FROM ${C}.Invoice WHERE InvoiceDate >= TIMESTAMP '2025-01-01' AND InvoiceDate < TIMESTAMP '2025-07-01'`,
  ],
  [
    'd12',
    'customers who bought something in December 2025: first and last name',
    `SELECT DISTINCT c.FirstName, c.LastName FROM ${C}.Invoice i JOIN ${C}.Customer c ON c.CustomerId = i.CustomerId
     WHERE i.InvoiceDate >= TIMESTAMP '2025-12-01' AND i.InvoiceDate < TIMESTAMP '2026-01-01'`,
  ],
  [
    'd13',
    'how many customers made a purchase last year',
    `SELECT count(DISTINCT CustomerId) FROM ${C}.Invoice
     WHERE InvoiceDate >= TIMESTAMP '2025-01-01' AND InvoiceDate < TIMESTAMP '2026-01-01'`,
    undefined,
    'relative',
  ],
  [
    'd14',
    'revenue by quarter in 2022 (quarter number)',
    `SELECT quarter(InvoiceDate), sum(Total) FROM ${C}.Invoice WHERE year(InvoiceDate) = 2022 GROUP BY quarter(InvoiceDate)`,
  ],
  [
    'd15',
    'average invoice total in 2021',
    `SELECT avg(Total) FROM ${C}.Invoice WHERE InvoiceDate >= TIMESTAMP '2021-01-01' AND InvoiceDate < TIMESTAMP '2022-01-01'`,
  ],
  ['d16', 'when was our first invoice', `SELECT min(InvoiceDate) FROM ${C}.Invoice`],
  ['d17', 'date of the most recent invoice', `SELECT max(InvoiceDate) FROM ${C}.Invoice`],
  [
    'd18',
    'employees hired in 2003: first and last names',
    `SELECT FirstName, LastName FROM ${C}.Employee WHERE HireDate >= TIMESTAMP '2003-01-01' AND HireDate < TIMESTAMP '2004-01-01'`,
  ],
  [
    'd19',
    'how many employees were hired before 2003',
    `SELECT count(*) FROM ${C}.Employee WHERE HireDate < TIMESTAMP '2003-01-01'`,
  ],
  [
    'd20',
    'who is our oldest employee? first and last name',
    `SELECT FirstName, LastName FROM ${C}.Employee ORDER BY BirthDate LIMIT 1`,
    'ordered',
  ],
  [
    'd21',
    'revenue from Germany in 2024',
    `SELECT sum(Total) FROM ${C}.Invoice WHERE BillingCountry = 'Germany'
     AND InvoiceDate >= TIMESTAMP '2024-01-01' AND InvoiceDate < TIMESTAMP '2025-01-01'`,
  ],
  [
    'd22',
    'top 3 countries by revenue in 2025',
    `SELECT BillingCountry, sum(Total) AS revenue FROM ${C}.Invoice
     WHERE InvoiceDate >= TIMESTAMP '2025-01-01' AND InvoiceDate < TIMESTAMP '2026-01-01'
     GROUP BY BillingCountry ORDER BY revenue DESC LIMIT 3`,
    'ordered',
  ],
  [
    'd23',
    'top 5 genres by revenue in 2024',
    `SELECT g.Name, sum(il.UnitPrice * il.Quantity) AS revenue FROM ${C}.InvoiceLine il
     JOIN ${C}.Invoice i ON i.InvoiceId = il.InvoiceId JOIN ${C}.Track t ON t.TrackId = il.TrackId
     JOIN ${C}.Genre g ON g.GenreId = t.GenreId
     WHERE i.InvoiceDate >= TIMESTAMP '2024-01-01' AND i.InvoiceDate < TIMESTAMP '2025-01-01'
     GROUP BY g.Name ORDER BY revenue DESC LIMIT 5`,
    'ordered',
  ],
  [
    'd24',
    'number of invoices per month in 2025 (month number)',
    `SELECT month(InvoiceDate), count(*) FROM ${C}.Invoice WHERE year(InvoiceDate) = 2025 GROUP BY month(InvoiceDate)`,
  ],
  [
    'd25',
    'revenue since the start of last year',
    `SELECT sum(Total) FROM ${C}.Invoice WHERE InvoiceDate >= TIMESTAMP '2025-01-01'`,
    undefined,
    'relative',
  ],
  [
    'd26',
    'what was the revenue in December last year',
    `SELECT sum(Total) FROM ${C}.Invoice WHERE InvoiceDate >= TIMESTAMP '2025-12-01' AND InvoiceDate < TIMESTAMP '2026-01-01'`,
    undefined,
    'relative',
  ],
  [
    'd27',
    'how many invoices between January 1 and January 15, 2022',
    `SELECT count(*) FROM ${C}.Invoice WHERE InvoiceDate >= TIMESTAMP '2022-01-01' AND InvoiceDate < TIMESTAMP '2022-01-16'`,
  ],
  [
    'd28',
    'how many tracks were sold in 2022',
    `SELECT sum(il.Quantity) FROM ${C}.InvoiceLine il JOIN ${C}.Invoice i ON i.InvoiceId = il.InvoiceId
     WHERE i.InvoiceDate >= TIMESTAMP '2022-01-01' AND i.InvoiceDate < TIMESTAMP '2023-01-01'`,
  ],
  [
    'd29',
    'revenue per year from Canada',
    `SELECT year(InvoiceDate), sum(Total) FROM ${C}.Invoice WHERE BillingCountry = 'Canada' GROUP BY year(InvoiceDate)`,
  ],
  [
    'd30',
    'which year had the most revenue',
    `SELECT year(InvoiceDate) FROM ${C}.Invoice GROUP BY year(InvoiceDate) ORDER BY sum(Total) DESC LIMIT 1`,
    'ordered',
  ],
  [
    'd31',
    'employees born before 1965: first and last names',
    `SELECT FirstName, LastName FROM ${C}.Employee WHERE BirthDate < TIMESTAMP '1965-01-01'`,
  ],
  [
    'd32',
    'how many invoices in summer 2023 (June to August)',
    `SELECT count(*) FROM ${C}.Invoice WHERE InvoiceDate >= TIMESTAMP '2023-06-01' AND InvoiceDate < TIMESTAMP '2023-09-01'`,
  ],
  [
    'd33',
    'revenue in the last quarter of last year',
    `SELECT sum(Total) FROM ${C}.Invoice WHERE InvoiceDate >= TIMESTAMP '2025-10-01' AND InvoiceDate < TIMESTAMP '2026-01-01'`,
    undefined,
    'relative',
  ],
  [
    'd34',
    'number of invoices per year for customers in Brazil',
    `SELECT year(i.InvoiceDate), count(*) FROM ${C}.Invoice i JOIN ${C}.Customer c ON c.CustomerId = i.CustomerId
     WHERE c.Country = 'Brazil' GROUP BY year(i.InvoiceDate)`,
  ],
  [
    'd35',
    'total revenue for 2021 and 2022 together',
    `SELECT sum(Total) FROM ${C}.Invoice WHERE InvoiceDate >= TIMESTAMP '2021-01-01' AND InvoiceDate < TIMESTAMP '2023-01-01'`,
  ],
  [
    'd36',
    'invoice ids billed on 2023-06-06',
    `SELECT InvoiceId FROM ${C}.Invoice WHERE InvoiceDate >= TIMESTAMP '2023-06-06' AND InvoiceDate < TIMESTAMP '2023-06-07'`,
  ],
  [
    'd37',
    'how many rock tracks were sold last year',
    `SELECT sum(il.Quantity) FROM ${C}.InvoiceLine il JOIN ${C}.Invoice i ON i.InvoiceId = il.InvoiceId
     JOIN ${C}.Track t ON t.TrackId = il.TrackId JOIN ${C}.Genre g ON g.GenreId = t.GenreId
     WHERE g.Name = 'Rock' AND i.InvoiceDate >= TIMESTAMP '2025-01-01' AND i.InvoiceDate < TIMESTAMP '2026-01-01'`,
    undefined,
    'relative',
  ],
]

const NESTED: Entry[] = [
  [
    'n01',
    'how many customers have never placed an order',
    `SELECT count(*) FROM ${C}.Customer c WHERE NOT EXISTS (SELECT 1 FROM ${C}.Invoice i WHERE i.CustomerId = c.CustomerId)`,
  ],
  [
    'n02',
    'how many tracks have never been sold',
    `SELECT count(*) FROM ${C}.Track t WHERE t.TrackId NOT IN (SELECT TrackId FROM ${C}.InvoiceLine)`,
  ],
  [
    'n03',
    'how many invoices are above the average invoice total',
    `SELECT count(*) FROM ${C}.Invoice WHERE Total > (SELECT avg(Total) FROM ${C}.Invoice)`,
  ],
  [
    'n04',
    'how many customers spent more than the average customer',
    `WITH spent AS (SELECT CustomerId, sum(Total) AS total FROM ${C}.Invoice GROUP BY CustomerId)
     SELECT count(*) FROM spent WHERE total > (SELECT avg(total) FROM spent)`,
  ],
  [
    'n05',
    'how many artists have no albums',
    `SELECT count(*) FROM ${C}.Artist ar WHERE NOT EXISTS (SELECT 1 FROM ${C}.Album al WHERE al.ArtistId = ar.ArtistId)`,
  ],
  [
    'n06',
    'genres that never sold a single track',
    `SELECT g.Name FROM ${C}.Genre g WHERE g.GenreId NOT IN (
       SELECT t.GenreId FROM ${C}.InvoiceLine il JOIN ${C}.Track t ON t.TrackId = il.TrackId)`,
  ],
  [
    'n07',
    'what percentage of revenue comes from the USA',
    `SELECT 100.0 * sum(CASE WHEN BillingCountry = 'USA' THEN Total ELSE 0 END) / sum(Total) FROM ${C}.Invoice`,
  ],
  [
    'n08',
    'how many albums run longer than an hour in total',
    `SELECT count(*) FROM (SELECT AlbumId FROM ${C}.Track GROUP BY AlbumId HAVING sum(Milliseconds) > 3600000)`,
  ],
  [
    'n09',
    'how much did revenue change from 2024 to 2025',
    `SELECT sum(CASE WHEN year(InvoiceDate) = 2025 THEN Total ELSE 0 END)
          - sum(CASE WHEN year(InvoiceDate) = 2024 THEN Total ELSE 0 END) FROM ${C}.Invoice`,
  ],
  [
    'n10',
    'how many playlists have no tracks',
    `SELECT count(*) FROM ${C}.Playlist p WHERE NOT EXISTS (SELECT 1 FROM ${C}.PlaylistTrack pt WHERE pt.PlaylistId = p.PlaylistId)`,
  ],
  [
    'n11',
    'how many tracks are longer than the average track',
    `SELECT count(*) FROM ${C}.Track WHERE Milliseconds > (SELECT avg(Milliseconds) FROM ${C}.Track)`,
  ],
  [
    'n12',
    'how many artists have tracks in more than one genre',
    `SELECT count(*) FROM (SELECT al.ArtistId FROM ${C}.Track t JOIN ${C}.Album al ON al.AlbumId = t.AlbumId
     GROUP BY al.ArtistId HAVING count(DISTINCT t.GenreId) > 1)`,
  ],
  [
    'n13',
    'how many customers bought both rock and jazz',
    `WITH bought AS (SELECT DISTINCT i.CustomerId, g.Name FROM ${C}.InvoiceLine il JOIN ${C}.Invoice i ON i.InvoiceId = il.InvoiceId
       JOIN ${C}.Track t ON t.TrackId = il.TrackId JOIN ${C}.Genre g ON g.GenreId = t.GenreId)
     SELECT count(*) FROM (SELECT CustomerId FROM bought WHERE Name = 'Rock' INTERSECT SELECT CustomerId FROM bought WHERE Name = 'Jazz')`,
  ],
  [
    'n14',
    'how many customers never bought a metal track',
    `SELECT count(*) FROM ${C}.Customer c WHERE c.CustomerId NOT IN (
       SELECT i.CustomerId FROM ${C}.InvoiceLine il JOIN ${C}.Invoice i ON i.InvoiceId = il.InvoiceId
       JOIN ${C}.Track t ON t.TrackId = il.TrackId JOIN ${C}.Genre g ON g.GenreId = t.GenreId WHERE g.Name = 'Metal')`,
  ],
  [
    'n15',
    'employees nobody reports to: first and last names',
    `SELECT e.FirstName, e.LastName FROM ${C}.Employee e
     WHERE NOT EXISTS (SELECT 1 FROM ${C}.Employee r WHERE r.ReportsTo = e.EmployeeId)`,
  ],
  [
    'n16',
    'how many albums have every track longer than 5 minutes',
    `SELECT count(*) FROM (SELECT AlbumId FROM ${C}.Track GROUP BY AlbumId HAVING min(Milliseconds) > 300000)`,
  ],
  [
    'n17',
    'how many customers live in the same country as their support rep',
    `SELECT count(*) FROM ${C}.Customer c JOIN ${C}.Employee e ON e.EmployeeId = c.SupportRepId WHERE c.Country = e.Country`,
  ],
  [
    'n18',
    'average number of tracks per album',
    `SELECT avg(tracks) FROM (SELECT AlbumId, count(*) AS tracks FROM ${C}.Track GROUP BY AlbumId)`,
  ],
  [
    'n19',
    'average total spent per customer',
    `SELECT avg(spent) FROM (SELECT CustomerId, sum(Total) AS spent FROM ${C}.Invoice GROUP BY CustomerId)`,
  ],
  [
    'n20',
    'countries whose revenue is above the average country revenue',
    `WITH r AS (SELECT BillingCountry, sum(Total) AS revenue FROM ${C}.Invoice GROUP BY BillingCountry)
     SELECT BillingCountry FROM r WHERE revenue > (SELECT avg(revenue) FROM r)`,
  ],
  [
    'n21',
    'what share of revenue is rock, as a percentage',
    `SELECT 100.0 * sum(CASE WHEN g.Name = 'Rock' THEN il.UnitPrice * il.Quantity ELSE 0 END) / sum(il.UnitPrice * il.Quantity)
     FROM ${C}.InvoiceLine il JOIN ${C}.Track t ON t.TrackId = il.TrackId JOIN ${C}.Genre g ON g.GenreId = t.GenreId`,
  ],
  [
    'n22',
    'how many months of 2024 had revenue above the 2024 monthly average',
    `WITH m AS (SELECT month(InvoiceDate) AS month, sum(Total) AS revenue FROM ${C}.Invoice
       WHERE year(InvoiceDate) = 2024 GROUP BY month(InvoiceDate))
     SELECT count(*) FROM m WHERE revenue > (SELECT avg(revenue) FROM m)`,
  ],
  [
    'n23',
    'how many customers bought something in both 2024 and 2025',
    `SELECT count(*) FROM (
       SELECT CustomerId FROM ${C}.Invoice WHERE year(InvoiceDate) = 2024
       INTERSECT SELECT CustomerId FROM ${C}.Invoice WHERE year(InvoiceDate) = 2025)`,
  ],
  [
    'n24',
    'what percentage of tracks has never been purchased',
    `SELECT 100.0 * count(*) FILTER (WHERE TrackId NOT IN (SELECT TrackId FROM ${C}.InvoiceLine)) / count(*) FROM ${C}.Track`,
  ],
  [
    'n25',
    'how many tracks are on more than 3 playlists',
    `SELECT count(*) FROM (SELECT TrackId FROM ${C}.PlaylistTrack GROUP BY TrackId HAVING count(*) > 3)`,
  ],
  [
    'n26',
    'customers who spent more than 45 dollars in total: first and last names',
    `SELECT c.FirstName, c.LastName FROM ${C}.Customer c JOIN ${C}.Invoice i ON i.CustomerId = c.CustomerId
     GROUP BY c.CustomerId, c.FirstName, c.LastName HAVING sum(i.Total) > 45`,
  ],
  [
    'n27',
    'the biggest invoice of 2025: its id and total',
    `SELECT InvoiceId, Total FROM ${C}.Invoice
     WHERE Total = (SELECT max(Total) FROM ${C}.Invoice WHERE year(InvoiceDate) = 2025) AND year(InvoiceDate) = 2025`,
  ],
  [
    'n28',
    'which artists have albums but no track ever sold',
    `SELECT ar.Name FROM ${C}.Artist ar WHERE EXISTS (SELECT 1 FROM ${C}.Album al WHERE al.ArtistId = ar.ArtistId)
     AND NOT EXISTS (SELECT 1 FROM ${C}.Album al JOIN ${C}.Track t ON t.AlbumId = al.AlbumId
       JOIN ${C}.InvoiceLine il ON il.TrackId = t.TrackId WHERE al.ArtistId = ar.ArtistId)`,
  ],
  [
    'n29',
    'how many customers have spent more than the best customer in Portugal',
    `WITH spent AS (SELECT c.CustomerId, c.Country, sum(i.Total) AS total FROM ${C}.Customer c
       JOIN ${C}.Invoice i ON i.CustomerId = c.CustomerId GROUP BY c.CustomerId, c.Country)
     SELECT count(*) FROM spent WHERE total > (SELECT max(total) FROM spent WHERE Country = 'Portugal')`,
  ],
  [
    'n30',
    'for each year, how many new customers made their first purchase',
    `SELECT year(first), count(*) FROM (SELECT CustomerId, min(InvoiceDate) AS first FROM ${C}.Invoice GROUP BY CustomerId)
     GROUP BY year(first)`,
  ],
  [
    'n31',
    'genres whose average track is longer than the overall average track length',
    `SELECT g.Name FROM ${C}.Track t JOIN ${C}.Genre g ON g.GenreId = t.GenreId GROUP BY g.Name
     HAVING avg(t.Milliseconds) > (SELECT avg(Milliseconds) FROM ${C}.Track)`,
  ],
  [
    'n32',
    'how many invoices contain tracks from more than one genre',
    `SELECT count(*) FROM (SELECT il.InvoiceId FROM ${C}.InvoiceLine il JOIN ${C}.Track t ON t.TrackId = il.TrackId
     GROUP BY il.InvoiceId HAVING count(DISTINCT t.GenreId) > 1)`,
  ],
]

function build(difficulty: Difficulty, entries: Entry[]): BenchQuestion[] {
  return entries.map(([id, question, sql, ordered, relative]) => ({
    id,
    question,
    difficulty,
    sql: sql.replace(/\s+/g, ' ').trim(),
    ordered: ordered === 'ordered',
    ...(relative === 'relative' ? { relative: true as const } : {}),
  }))
}

export const QUESTIONS: readonly BenchQuestion[] = [
  ...build('easy', EASY),
  ...build('aggregate', AGGREGATE),
  ...build('join', JOIN),
  ...build('date', DATE),
  ...build('nested', NESTED),
]
