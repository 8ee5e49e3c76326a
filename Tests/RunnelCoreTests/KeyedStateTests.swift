import RunnelCore
import RunnelOperators
import RunnelTesting
import Testing

/// Keyed state semantics per key, observed through a keyed process function.
@Suite struct KeyedStateTests {
    @Test func valueStatePerKey() throws {
        let job = try StateJob()
        #expect(try job.run([StateCmd("a", 1, .getValue)]) == ["a value=nil"])
        let out = try job.run([
            StateCmd("a", 2, .setValue(5)), StateCmd("b", 3, .setValue(7)),
            StateCmd("a", 4, .getValue), StateCmd("b", 5, .getValue), StateCmd("c", 6, .getValue),
            StateCmd("a", 7, .setValue(6)), StateCmd("a", 8, .getValue), StateCmd("b", 9, .getValue),
            StateCmd("a", 10, .clearValue), StateCmd("a", 11, .getValue), StateCmd("b", 12, .getValue),
        ])
        #expect(out == ["a value=5", "b value=7", "c value=nil", "a value=6", "b value=7", "a value=nil", "b value=7"])
    }

    @Test func valueStateModifyAndReplace() throws {
        let job = try StateJob()
        let out = try job.run([
            StateCmd("a", 1, .addToValue(3)), StateCmd("a", 2, .addToValue(4)), StateCmd("a", 3, .getValue),
            StateCmd("b", 4, .replaceValue(1)), StateCmd("b", 5, .replaceValue(2)), StateCmd("b", 6, .getValue),
            StateCmd("a", 7, .replaceValue(0)), StateCmd("a", 8, .getValue),
        ])
        #expect(out == ["a value=7", "b replaced=nil", "b replaced=1", "b value=2", "a replaced=7", "a value=0"])
    }

    @Test func listState() throws {
        let job = try StateJob()
        let out = try job.run([
            StateCmd("a", 1, .getList),
            StateCmd("a", 2, .append(1)), StateCmd("b", 3, .append(9)), StateCmd("a", 4, .append(2)), StateCmd("a", 5, .append(1)),
            StateCmd("a", 6, .getList), StateCmd("b", 7, .getList),
            StateCmd("a", 8, .updateList([4, 5])), StateCmd("a", 9, .getList),
            StateCmd("a", 10, .updateList([])), StateCmd("a", 11, .getList),
            StateCmd("b", 12, .clearList), StateCmd("b", 13, .getList), StateCmd("b", 14, .append(3)), StateCmd("b", 15, .getList),
        ])
        #expect(out == ["a list=[]", "a list=[1, 2, 1]", "b list=[9]", "a list=[4, 5]", "a list=[]", "b list=[]", "b list=[3]"])
    }

    @Test func mapState() throws {
        let job = try StateJob()
        let out = try job.run([
            StateCmd("a", 1, .getMap), StateCmd("a", 2, .getEntry("x")),
            StateCmd("a", 3, .put("x", 1)), StateCmd("a", 4, .put("y", 2)), StateCmd("b", 5, .put("x", 10)),
            StateCmd("a", 6, .put("x", 3)),
            StateCmd("a", 7, .getMap), StateCmd("b", 8, .getMap), StateCmd("a", 9, .getEntry("x")), StateCmd("a", 10, .getEntry("z")),
            StateCmd("a", 11, .removeEntry("x")), StateCmd("a", 12, .getMap),
            StateCmd("a", 13, .removeEntry("y")), StateCmd("a", 14, .getMap), StateCmd("a", 15, .removeEntry("nope")),
            StateCmd("b", 16, .clearMap), StateCmd("b", 17, .getMap),
        ])
        #expect(out == [
            "a map=[]", "a map[x]=nil",
            "a map=[\"x:3\", \"y:2\"]", "b map=[\"x:10\"]", "a map[x]=3", "a map[z]=nil",
            "a map=[\"y:2\"]", "a map=[]", "b map=[]",
        ])
    }

    @Test func emptiedMapLeavesNoEntryBehind() throws {
        let probe = BackendProbe()
        let job = try StateJob(probe: probe)
        try job.run([StateCmd("a", 1, .put("x", 1)), StateCmd("b", 2, .put("x", 1))])
        #expect(probe.entries("map", of: [String: Int].self) == 2)
        try job.run([StateCmd("a", 3, .removeEntry("x"))])
        #expect(probe.entries("map", of: [String: Int].self) == 1)
        try job.run([StateCmd("b", 4, .clearMap), StateCmd("b", 5, .updateList([])), StateCmd("c", 6, .clearValue)])
        #expect(probe.entries("map", of: [String: Int].self) == 0)
        #expect(probe.entries("list", of: [Int].self) == 0)
        #expect(probe.entries("value", of: Int.self) == 0)
    }

    @Test func reducingState() throws {
        let job = try StateJob()
        let out = try job.run([
            StateCmd("a", 1, .getReduced),
            StateCmd("a", 2, .reduce(3)), StateCmd("a", 3, .reduce(9)), StateCmd("b", 4, .reduce(-1)), StateCmd("a", 5, .reduce(4)),
            StateCmd("a", 6, .getReduced), StateCmd("b", 7, .getReduced),
            StateCmd("a", 8, .clearReduced), StateCmd("a", 9, .getReduced), StateCmd("a", 10, .reduce(2)), StateCmd("a", 11, .getReduced),
        ])
        #expect(out == ["a max=nil", "a max=9", "b max=-1", "a max=nil", "a max=2"])
    }

    @Test func aggregatingState() throws {
        let job = try StateJob()
        let out = try job.run([
            StateCmd("a", 1, .getAggregate),
            StateCmd("a", 2, .aggregate(3)), StateCmd("a", 3, .aggregate(9)), StateCmd("b", 4, .aggregate(5)),
            StateCmd("a", 5, .getAggregate), StateCmd("b", 6, .getAggregate),
            StateCmd("a", 7, .clearAggregate), StateCmd("a", 8, .getAggregate), StateCmd("a", 9, .aggregate(1)), StateCmd("a", 10, .getAggregate),
        ])
        #expect(out == ["a avg=nil", "a avg=12/2", "b avg=5/1", "a avg=nil", "a avg=1/1"])
    }

    @Test func statesOfOneKeyAreIndependent() throws {
        let job = try StateJob()
        let out = try job.run([
            StateCmd("a", 1, .setValue(1)), StateCmd("a", 2, .append(2)), StateCmd("a", 3, .put("k", 3)),
            StateCmd("a", 4, .reduce(4)), StateCmd("a", 5, .aggregate(5)),
            StateCmd("a", 6, .clearValue), StateCmd("a", 7, .clearMap),
            StateCmd("a", 8, .getValue), StateCmd("a", 9, .getList), StateCmd("a", 10, .getMap),
            StateCmd("a", 11, .getReduced), StateCmd("a", 12, .getAggregate),
        ])
        #expect(out == ["a value=nil", "a list=[2]", "a map=[]", "a max=4", "a avg=5/1"])
    }

    @Test func stateSurvivesAcrossBatchesAndParallelism() throws {
        for p in [1, 2, 4] {
            let job = try StateJob(parallelism: p)
            let keys = (0..<40).map { "key\($0)" }
            try job.run(keys.enumerated().map { StateCmd($1, Timestamp($0), .addToValue($0)) })
            try job.run(keys.enumerated().map { StateCmd($1, 100 + Timestamp($0), .addToValue(1000)) })
            let out = try job.run(keys.enumerated().map { StateCmd($1, 200 + Timestamp($0), .getValue) })
            #expect(out.sorted() == keys.enumerated().map { "\($1) value=\($0 + 1000)" }.sorted(), "parallelism \(p)")
        }
    }

    @Test func rollingReducePerKey() throws {
        let env = StreamEnvironment(name: "rolling")
        let sink = CollectSink<Ev>()
        let events = [Ev("a", 1, 1), Ev("b", 2, 10), Ev("a", 3, 2), Ev("a", 4, 3), Ev("b", 5, 20)]
        env.source("events", CollectionSource(events), watermarks: .monotonousTimestamps { $0.t })
            .keyBy { $0.key }
            .reduce("running sum") { Ev($0.key, $1.t, $0.v + $1.v) }
            .sink("out", sink)
        try EmbeddedRunner(graph: try env.build(), parallelism: 2).runToCompletion()
        #expect(sink.results.filter { $0.key == "a" }.map(\.v) == [1, 3, 6])
        #expect(sink.results.filter { $0.key == "b" }.map(\.v) == [10, 30])
    }

    // MARK: The backend directly

    @Test func backendKeysStateByKeyGroupAndKey() {
        let assignment = KeyGroupAssignment(maxParallelism: 16, parallelism: 2)
        // A backend for subtask 1 only accepts keys whose group it owns.
        let groups = assignment.keyGroups(ofSubtask: 1)
        let backend = KeyedStateBackend<String>(assignment: assignment, keyGroups: groups)
        let value = backend.valueState(ValueStateDescriptor<Int>("v"))
        let owned = (0..<200).map { "k\($0)" }.filter { groups.contains(assignment.keyGroup(of: $0)) }
        #expect(owned.count > 20)
        for (i, k) in owned.enumerated() {
            backend.setCurrentKey(k)
            value.value = i
        }
        for (i, k) in owned.enumerated().reversed() {
            backend.setCurrentKey(k)
            #expect(value.value == i)
            #expect(backend.currentKey == k)
        }
        let table = backend.stateTable(named: "v", of: Int.self)
        #expect(table?.count == owned.count)
        #expect(backend.stateNames == ["v"])
        // The same descriptor name yields the same storage.
        let again = backend.valueState(ValueStateDescriptor<Int>("v"))
        backend.setCurrentKey(owned[0])
        #expect(again.value == 0)
    }
}
