import RunnelCore

/// The processing-time service of one event loop: wall-clock milliseconds, and callbacks
/// on `uv_timer`s of that loop.
///
/// Thread safety: `schedule` must be called on the loop's thread (operators do so, since
/// they run there); `currentTime` may be read anywhere.
final class LoopProcessingTimeService: ProcessingTimeService {
    let loop: EventLoop

    init(loop: EventLoop) { self.loop = loop }

    var currentTime: Timestamp { WallClock.nowMilliseconds() }

    func schedule(at time: Timestamp, _ callback: @escaping (Timestamp) -> Void) {
        let delay = max(0, time - currentTime)
        var timer: LoopTimer?
        timer = loop.scheduleTimer(afterMilliseconds: UInt64(delay)) { [self] in
            timer?.cancel()
            timer = nil
            callback(max(currentTime, time))
        }
    }
}
