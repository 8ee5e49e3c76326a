import RunnelCore
import Testing

@Suite struct KeyGroupAssignmentTests {
    @Test("key groups and their subtasks are hash mod groups and group × p / groups, powers of two or not")
    func keyGroupArithmetic() {
        var hash: UInt64 = 0x9E37_79B9_7F4A_7C15
        for groups in [1, 2, 3, 7, 8, 100, 128, 1000, 1024, 32768] {
            for parallelism in Set([1, 2, 3, min(groups, 5), groups]) where parallelism <= groups {
                let assignment = KeyGroupAssignment(maxParallelism: groups, parallelism: parallelism)
                for _ in 0..<500 {
                    hash = hash &* 6364136223846793005 &+ 1442695040888963407
                    let group = assignment.keyGroup(forHash: hash)
                    #expect(group == Int(hash % UInt64(groups)))
                    #expect(assignment.subtask(ofKeyGroup: group) == group * parallelism / groups)
                    #expect(assignment.keyGroups(ofSubtask: assignment.subtask(ofKeyGroup: group)).contains(group))
                }
            }
        }
    }
}
