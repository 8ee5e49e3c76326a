@testable import RunnelCore
import Testing

/// An object a record refers to, so that a receiver can tell whether it holds the record's
/// only copy (`isKnownUniquelyReferenced`).
private final class Token {}

/// A record with a reference inside, as a record with a string id is.
private struct Tracked {
    var token = Token()
    var id: Int
}

/// Receives records and notes how it got them.
private final class Receiver {
    let name: String
    /// The log shared by the receivers of one test: who got which record, in order.
    let log: Log
    /// For each record given to the keeping handler: whether it was the only copy.
    var givenUnique: [Bool] = []
    /// What the keeping handler kept.
    var kept: [Tracked] = []

    init(_ name: String, log: Log) {
        self.name = name
        self.log = log
    }

    /// The handler of an operator that keeps records (as an exchange's batch does).
    var keeping: ElementHandler<Tracked> {
        ElementHandler(
            element: { v, _ in self.keep(v) },
            watermark: { _ in }, endOfInput: {})
    }

    /// The handler of an operator that takes what it is given, notes it and drops it (so
    /// that it holds no reference a later target would see).
    var taking: ElementHandler<Tracked> {
        ElementHandler(element: { v, _ in self.take(v) }, watermark: { _ in }, endOfInput: {})
    }

    private func keep(_ value: consuming Tracked) {
        var record = consume value
        givenUnique.append(isKnownUniquelyReferenced(&record.token))
        log.entries.append("\(name) kept \(record.id)")
        kept.append(record)
    }

    private func take(_ value: consuming Tracked) {
        var record = consume value
        givenUnique.append(isKnownUniquelyReferenced(&record.token))
        log.entries.append("\(name) took \(record.id)")
    }

    /// The handler of an operator that only reads records (as a window's aggregate does).
    var reading: ElementHandler<Tracked> {
        ElementHandler(
            lentElement: { v, _ in self.log.entries.append("\(self.name) read \(v.id)") },
            watermark: { _ in }, endOfInput: {})
    }
}

private final class Log {
    var entries: [String] = []
}

/// An emitter connected to `targets`, in order.
private func emitter(_ targets: ElementHandler<Tracked>...) -> Emitter<Tracked> {
    let emitter = Emitter<Tracked>()
    for target in targets { emitter.connect(target) }
    return emitter
}

/// How an emitter hands records on: lent to every target but the last, given to the last,
/// so that a record is copied only for a target before the last that keeps it.
@Suite struct RecordOwnershipTests {
    @Test("one target that keeps records is given each record: it holds the only copy")
    func singleTargetIsGiven() {
        let log = Log()
        let receiver = Receiver("a", log: log)
        let output = emitter(receiver.keeping)
        output.emit(Tracked(id: 1), timestamp: 0)
        output.emit(Tracked(id: 2), timestamp: 0)
        #expect(receiver.givenUnique == [true, true])
        #expect(receiver.kept.map(\.id) == [1, 2])
    }

    @Test("two targets that keep records: the first gets a copy, the last the record itself, in connection order")
    func fanOutCopiesOnlyForTheFirst() {
        let log = Log()
        let (first, second) = (Receiver("first", log: log), Receiver("second", log: log))
        emitter(first.taking, second.keeping).emit(Tracked(id: 7), timestamp: 0)
        // The first got a copy while the emitter still held the record; the second got the
        // record itself (the first dropped its copy).
        #expect(first.givenUnique == [false])
        #expect(second.givenUnique == [true])
        #expect(log.entries == ["first took 7", "second kept 7"])
    }

    @Test("a reading target before a keeping one: the record is read in place, then given, never copied")
    func readerThenKeeperCopiesNothing() {
        let log = Log()
        let (reader, keeper) = (Receiver("reader", log: log), Receiver("keeper", log: log))
        emitter(reader.reading, keeper.keeping).emit(Tracked(id: 3), timestamp: 0)
        #expect(keeper.givenUnique == [true])
        #expect(log.entries == ["reader read 3", "keeper kept 3"])
    }

    @Test("three targets: every one before the last is lent the record, the last is given it")
    func threeTargets() {
        let log = Log()
        let (a, b, c) = (Receiver("a", log: log), Receiver("b", log: log), Receiver("c", log: log))
        emitter(a.taking, b.reading, c.keeping).emit(Tracked(id: 5), timestamp: 0)
        #expect(a.givenUnique == [false])
        #expect(c.givenUnique == [true])
        #expect(log.entries == ["a took 5", "b read 5", "c kept 5"])
    }

    @Test("a lent record reaches a keeping target as a copy (the lender still holds it), and a reading one in place")
    func lendingCopiesForKeepers() {
        let log = Log()
        let (reader, keeper) = (Receiver("reader", log: log), Receiver("keeper", log: log))
        let record = Tracked(id: 9)
        emitter(reader.reading, keeper.keeping).lend(record, timestamp: 0)
        #expect(keeper.givenUnique == [false])
        #expect(log.entries == ["reader read 9", "keeper kept 9"])
        #expect(keeper.kept[0].token === record.token)
    }

    @Test("a collector hands a record emitted on its last use to the operator after it without a copy")
    func collectorMovesOnLastUse() {
        let log = Log()
        let receiver = Receiver("a", log: log)
        PassThrough().process(Tracked(id: 4), out: Collector(emitter(receiver.keeping)))
        #expect(receiver.givenUnique == [true])
    }
}

/// A function that emits what it is given, as a deduplication passes a first sighting on.
private final class PassThrough {
    func process(_ value: consuming Tracked, out: Collector<Tracked>) {
        out.collect(consume value)
    }
}
