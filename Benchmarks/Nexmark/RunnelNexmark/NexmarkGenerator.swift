import RunnelCore
import RunnelOperators
#if canImport(Glibc)
import Glibc
#endif

/// Makes Nexmark event number `n` from the event number alone (with the configuration's
/// seed), as the reference generators do: any subtask can make any event, in any order, and
/// the stream is the same for a seed on every machine.
///
/// Event `n` is a person, an auction or a bid by its place in each round of 50 (1, 3, 46).
/// Ids grow with the event number; bids and auctions name recent persons and auctions,
/// mostly hot ones (see ``NexmarkConfiguration``). Event time is ``NexmarkConfiguration/
/// dateTime(ofEvent:)``: event time, never the wall clock.
public struct NexmarkGenerator: Sendable {
    /// The stream's parameters.
    public let configuration: NexmarkConfiguration

    /// Creates a generator.
    public init(configuration: NexmarkConfiguration = NexmarkConfiguration()) {
        self.configuration = configuration
    }

    /// Event number `n` (from 0).
    public func event(_ n: Int64) -> NexmarkEvent {
        // Each event's generator starts from a mixed seed: a linear one would make event
        // n + 1's draws event n's shifted by one (SplitMix64 steps by a constant).
        var random = SplitMix64(seed: StableHash.mix(configuration.seed &+ UInt64(bitPattern: n) &* 0x9E37_79B9_7F4A_7C15))
        let time = configuration.dateTime(ofEvent: n)
        let offset = n % NexmarkConfiguration.proportionDenominator
        if offset < NexmarkConfiguration.personProportion { return .person(person(n, time, &random)) }
        if offset < NexmarkConfiguration.personProportion + NexmarkConfiguration.auctionProportion {
            return .auction(auction(n, time, &random))
        }
        return .bid(bid(n, time, &random))
    }

    // MARK: Ids

    /// The id (from 0) of the last person made by event `n` (the one `n` makes, if a person).
    static func lastPersonId(_ n: Int64) -> Int64 {
        let round = n / NexmarkConfiguration.proportionDenominator
        let offset = min(n % NexmarkConfiguration.proportionDenominator, NexmarkConfiguration.personProportion - 1)
        return round * NexmarkConfiguration.personProportion + offset
    }

    /// The id (from 0) of the last auction made by event `n` (the one `n` makes, if an
    /// auction); before the first auction, -1.
    static func lastAuctionId(_ n: Int64) -> Int64 {
        var round = n / NexmarkConfiguration.proportionDenominator
        var offset = n % NexmarkConfiguration.proportionDenominator
        if offset < NexmarkConfiguration.personProportion {
            round -= 1  // the previous round's last auction
            offset = NexmarkConfiguration.auctionProportion - 1
        } else if offset >= NexmarkConfiguration.personProportion + NexmarkConfiguration.auctionProportion {
            offset = NexmarkConfiguration.auctionProportion - 1
        } else {
            offset -= NexmarkConfiguration.personProportion
        }
        return round * NexmarkConfiguration.auctionProportion + offset
    }

    /// A random recent person (from 0), possibly a few ahead of the last one.
    func randomPersonId(_ n: Int64, _ random: inout SplitMix64) -> Int64 {
        let people = Self.lastPersonId(n) + 1
        let active = min(people, configuration.activePeople)
        return people - active + Self.below(active + NexmarkConfiguration.idLead, &random)
    }

    /// A random auction (from 0) likely still in flight, possibly a few ahead of the last one.
    func randomAuctionId(_ n: Int64, _ random: inout SplitMix64) -> Int64 {
        let last = max(Self.lastAuctionId(n), 0)
        let first = max(last - configuration.inFlightAuctions, 0)
        return first + Self.below(last - first + 1 + NexmarkConfiguration.idLead, &random)
    }

    // MARK: Events

    static let cities = ["Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland", "Bend", "Redmond", "Seattle", "Kent", "Cheyenne"]
    static let states = ["AZ", "CA", "ID", "OR", "WA", "WY"]
    static let firstNames = ["Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter"]
    static let lastNames = ["Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris"]

    func person(_ n: Int64, _ time: Int64, _ random: inout SplitMix64) -> Person {
        let name = Self.pick(Self.firstNames, &random) + " " + Self.pick(Self.lastNames, &random)
        let email = Self.string(maxLength: 7, &random) + "@" + Self.string(maxLength: 5, &random) + ".com"
        var card = ""
        for group in 0..<4 {
            let digits = String(Self.below(10_000, &random))
            card += (group > 0 ? " " : "") + String(repeating: "0", count: 4 - digits.count) + digits
        }
        let city = Self.pick(Self.cities, &random), state = Self.pick(Self.states, &random)
        let size = 8 + name.utf8.count + email.utf8.count + card.utf8.count + city.utf8.count + state.utf8.count
        return Person(id: Self.lastPersonId(n) + NexmarkConfiguration.firstPersonId, name: name, emailAddress: email, creditCard: card,
                      city: city, state: state, dateTime: time,
                      extra: Self.extra(size: size, average: configuration.averagePersonBytes, &random))
    }

    func auction(_ n: Int64, _ time: Int64, _ random: inout SplitMix64) -> Auction {
        var seller: Int64
        if Self.below(configuration.hotSellersRatio, &random) > 0 {
            seller = Self.lastPersonId(n) / NexmarkConfiguration.hotBatch * NexmarkConfiguration.hotBatch
        } else {
            seller = randomPersonId(n, &random)
        }
        seller += NexmarkConfiguration.firstPersonId
        let category = NexmarkConfiguration.firstCategoryId + Self.below(NexmarkConfiguration.categoryCount, &random)
        let initialBid = Self.price(&random)
        // Auctions last about as long as it takes to make the next `inFlightAuctions` of them.
        let eventsAhead = configuration.inFlightAuctions * NexmarkConfiguration.proportionDenominator / NexmarkConfiguration.auctionProportion
        let horizon = configuration.dateTime(ofEvent: n + eventsAhead) - time
        let expires = time + 1 + Self.below(max(horizon * 2, 1), &random)
        let itemName = Self.string(maxLength: 20, &random)
        let description = Self.string(maxLength: 100, &random)
        let reserve = initialBid + Self.price(&random)
        let size = 8 + itemName.utf8.count + description.utf8.count + 8 * 5
        return Auction(id: Self.lastAuctionId(n) + NexmarkConfiguration.firstAuctionId, itemName: itemName, description: description,
                       initialBid: initialBid, reserve: reserve, dateTime: time, expires: expires, seller: seller, category: category,
                       extra: Self.extra(size: size, average: configuration.averageAuctionBytes, &random))
    }

    func bid(_ n: Int64, _ time: Int64, _ random: inout SplitMix64) -> Bid {
        var auction: Int64
        if Self.below(configuration.hotAuctionRatio, &random) > 0 {
            auction = max(Self.lastAuctionId(n), 0) / NexmarkConfiguration.hotBatch * NexmarkConfiguration.hotBatch
        } else {
            auction = randomAuctionId(n, &random)
        }
        auction += NexmarkConfiguration.firstAuctionId
        var bidder: Int64
        if Self.below(configuration.hotBiddersRatio, &random) > 0 {
            // The second person of the batch, so that hot bidders are not the hot sellers.
            bidder = Self.lastPersonId(n) / NexmarkConfiguration.hotBatch * NexmarkConfiguration.hotBatch + 1
        } else {
            bidder = randomPersonId(n, &random)
        }
        bidder += NexmarkConfiguration.firstPersonId
        let price = Self.price(&random)
        return Bid(auction: auction, bidder: bidder, price: price, dateTime: time,
                   extra: Self.extra(size: 32, average: configuration.averageBidBytes, &random))
    }

    // MARK: Values

    /// A uniform integer in `0..<bound` (`bound` > 0).
    static func below(_ bound: Int64, _ random: inout SplitMix64) -> Int64 {
        Int64(random.next() % UInt64(bound))
    }

    static func pick(_ values: [String], _ random: inout SplitMix64) -> String {
        values[Int(below(Int64(values.count), &random))]
    }

    /// A price in cents, log-uniform between $1 and $1 000 000.
    static func price(_ random: inout SplitMix64) -> Int64 {
        Int64((pow(10, random.unit() * 6) * 100).rounded())
    }

    /// A string of 3 to `maxLength` − 1 lowercase letters, with an occasional space.
    static func string(maxLength: Int, _ random: inout SplitMix64) -> String {
        let length = 3 + Int(below(Int64(maxLength - 3), &random))
        return exactString(length, &random)
    }

    /// Padding that brings an event of `size` bytes to `average` bytes on average (±20 %).
    static func extra(size: Int, average: Int, _ random: inout SplitMix64) -> String {
        guard size < average else { return "" }
        let desired = average - size
        let delta = Int((Double(desired) * 0.2).rounded())
        return exactString(desired - delta + Int(below(Int64(2 * delta + 1), &random)), &random)
    }

    static func exactString(_ length: Int, _ random: inout SplitMix64) -> String {
        String(unsafeUninitializedCapacity: length) { buffer in
            var i = 0
            while i < length {
                // One draw gives eight characters.
                var bits = random.next()
                for _ in 0..<8 where i < length {
                    // The low 3 bits pick a space 1 time in 8 (as Beam's 1 in 13, near enough),
                    // the next 5 a letter (the 32 values folded onto 26).
                    let r = Int(bits & 0xFF)
                    buffer[i] = r & 7 == 0 ? UInt8(ascii: " ") : UInt8(ascii: "a") + UInt8((r >> 3) % 26)
                    bits >>= 8
                    i += 1
                }
            }
            return length
        }
    }
}
