import RunnelCore

/// A person who put an item up for auction in the 10 s window they registered in (q8).
public struct NewSeller: Sendable, Hashable, NexmarkResult {
    public var id: Int64
    public var name: String
    public var windowStart: Int64

    /// Creates a record.
    public init(id: Int64, name: String, windowStart: Int64) {
        self.id = id
        self.name = name
        self.windowStart = windowStart
    }

    public var resultText: String { "\(id)\t\(name)\t\(windowStart)" }

    public var stableHash: UInt64 {
        var h = FieldHasher()
        h.add(id)
        h.add(name)
        h.add(windowStart)
        return h.value
    }
}

/// What q8 needs of a person or an auction, keyed by the person.
public enum PersonOrSale: Sendable, Hashable {
    case person(id: Int64, name: String)
    case sale(seller: Int64)

    var personId: Int64 {
        switch self {
        case .person(let id, _): id
        case .sale(let seller): seller
        }
    }
}

/// Whether a window saw a person register, and sell.
public struct RegisteredAndSoldAggregate: AggregateFunction, Sendable {
    public struct Accumulator: Sendable, Hashable, StateCodable {
        public var name: String?
        public var sold = false

        public init() {}

        public func encode(to writer: inout BinaryWriter) {
            writer.write(name)
            writer.write(sold)
        }

        public init(from reader: inout BinaryReader) throws {
            name = try reader.read()
            sold = try reader.read()
        }
    }

    public init() {}
    public func createAccumulator() -> Accumulator { Accumulator() }
    public func add(_ value: PersonOrSale, to acc: inout Accumulator) {
        switch value {
        case .person(_, let name): acc.name = name
        case .sale: acc.sold = true
        }
    }
    public func merge(_ other: Accumulator, into acc: inout Accumulator) {
        acc.name = acc.name ?? other.name
        acc.sold = acc.sold || other.sold
    }
    public func result(_ acc: Accumulator) -> Accumulator { acc }
}

/// Nexmark q8, monitor new users: the persons who registered and put an item up for auction
/// in the same 10 s tumbling window — a window join of persons and auctions, done as one
/// window over both, keyed by the person.
public enum Query8 {
    /// The new sellers of `events`.
    public static func build(_ events: DataStream<NexmarkEvent>) -> DataStream<NewSeller> {
        events
            .flatMap("q8-persons-and-sales") { event, out in
                switch event {
                case .person(let p): out(PersonOrSale.person(id: p.id, name: p.name))
                case .auction(let a): out(PersonOrSale.sale(seller: a.seller))
                case .bid: break
                }
            }
            .keyBy { $0.personId }
            .window(TumblingWindows(.seconds(10)))
            .aggregate("q8-join", RegisteredAndSoldAggregate())
            .flatMap("q8-new-sellers") { r, out in
                if let name = r.value.name, r.value.sold { out(NewSeller(id: r.key, name: name, windowStart: r.window.start)) }
            }
    }
}
