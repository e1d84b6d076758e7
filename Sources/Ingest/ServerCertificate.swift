import Foundation
import Logging
import NIOSSL
import NIOConcurrencyHelpers

/// The certificate and key RTMPS and HTTPS present, from PEM files, reloadable while the server runs.
///
/// Connections take the context current when they are accepted; a reload changes what the next connection gets and
/// leaves live ones on the certificate they shook hands with. TLS 1.2 or later (RFC 8996 retires 1.0 and 1.1).
public final class ServerCertificate: Sendable {
    public let certificatePath: String
    public let keyPath: String
    private let state: NIOLockedValueBox<Loaded>

    struct Loaded {
        var context: NIOSSLContext
        var chain: [NIOSSLCertificateSource]
        var key: NIOSSLPrivateKeySource
        var serial: String
        var notValidAfter: Date
    }

    /// - Throws: `ServerCertificate.Error` naming the file and what is wrong with it.
    public init(certificatePath: String, keyPath: String) throws {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        state = NIOLockedValueBox(try Self.load(certificatePath: certificatePath, keyPath: keyPath))
    }

    /// The context a new connection uses.
    public var context: NIOSSLContext { state.withLockedValue { $0.context } }

    /// A TLS configuration for a server that builds its own context once (Hummingbird's HTTPS): each handshake
    /// still presents the certificate loaded last, through NIOSSL's per-connection override.
    public var reloadingConfiguration: TLSConfiguration {
        let (chain, key) = state.withLockedValue { ($0.chain, $0.key) }
        var configuration = Self.serverConfiguration(chain: chain, key: key)
        configuration.sslContextCallback = { [self] _, promise in
            var override = NIOSSLContextConfigurationOverride()
            (override.certificateChain, override.privateKey) = state.withLockedValue { ($0.chain, $0.key) }
            promise.succeed(override)
        }
        return configuration
    }

    /// Hex serial number and expiry of the certificate in use, for logs and tests.
    public var summary: (serial: String, notValidAfter: Date) { state.withLockedValue { ($0.serial, $0.notValidAfter) } }

    /// Reads the files again. On any error the certificate in use stays, and the error is thrown.
    public func reload() throws {
        let loaded = try Self.load(certificatePath: certificatePath, keyPath: keyPath)
        state.withLockedValue { $0 = loaded }
    }

    public struct Error: Swift.Error, CustomStringConvertible {
        public var description: String
    }

    private static func serverConfiguration(chain: [NIOSSLCertificateSource], key: NIOSSLPrivateKeySource) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: key)
        configuration.minimumTLSVersion = .tlsv12
        return configuration
    }

    private static func load(certificatePath: String, keyPath: String) throws -> Loaded {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
        } catch {
            throw Error(description: "tls-certificate \(certificatePath): not a readable PEM certificate (\(error))")
        }
        guard let leaf = chain.first else { throw Error(description: "tls-certificate \(certificatePath): no certificate in the file") }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        } catch {
            throw Error(description: "tls-key \(keyPath): not a readable PEM private key (\(error))")
        }
        let (chainSource, keySource) = (chain.map { NIOSSLCertificateSource.certificate($0) }, NIOSSLPrivateKeySource.privateKey(key))
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: serverConfiguration(chain: chainSource, key: keySource))
        } catch {
            throw Error(description: "tls-key \(keyPath) does not match tls-certificate \(certificatePath) (\(error))")
        }
        return Loaded(
            context: context, chain: chainSource, key: keySource, serial: leaf.serialNumber.map { String(format: "%02x", $0) }.joined(),
            notValidAfter: Date(timeIntervalSince1970: TimeInterval(leaf.notValidAfter)))
    }
}
