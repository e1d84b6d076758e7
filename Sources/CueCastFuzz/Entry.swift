import Foundation

/// Two ways to run: under libFuzzer (built with `-sanitize=fuzzer` and `-DFUZZING`, as `scripts/fuzz` does), or as a
/// replayer, `CueCastFuzz <target> <file or directory>…`, which runs each input once, so saved crashes and corpora
/// replay in the ordinary test suite.
@main
struct FuzzMain {
    static func main() throws {
        #if FUZZING
        exit(runFuzzer())
        #else
        try replay()
        #endif
    }

    static func replay() throws {
        let arguments = CommandLine.arguments.dropFirst()
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name) else {
            print("usage: CueCastFuzz <\(FuzzTarget.allCases.map(\.rawValue).joined(separator: "|"))> <file or directory>…")
            exit(2)
        }
        var count = 0
        for path in arguments.dropFirst() {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
            let files = isDirectory.boolValue
                ? try FileManager.default.contentsOfDirectory(atPath: path).sorted().map { "\(path)/\($0)" } : [path]
            for file in files {
                target.run(Array(try Data(contentsOf: URL(fileURLWithPath: file))))
                count += 1
            }
        }
        print("\(target.rawValue): \(count) inputs ran")
    }
}

#if FUZZING
/// The target libFuzzer drives, from `CUECAST_FUZZ_TARGET` (`scripts/fuzz` sets it).
nonisolated(unsafe) var fuzzTarget = FuzzTarget.chunks

/// libFuzzer's driver (compiler-rt's FuzzerInterface.h): parses libFuzzer's flags from argv and calls back per input.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

func runFuzzer() -> CInt {
    let name = ProcessInfo.processInfo.environment["CUECAST_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        FileHandle.standardError.write(Data("CUECAST_FUZZ_TARGET must be one of \(FuzzTarget.allCases.map(\.rawValue))\n".utf8))
        return 2
    }
    fuzzTarget = target
    var argc = CommandLine.argc
    var argv = Optional(CommandLine.unsafeArgv)
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        fuzzTarget.run(size == 0 || data == nil ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
        return 0
    }
}
#endif
