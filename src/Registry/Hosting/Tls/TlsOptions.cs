namespace Registry.Hosting.Tls;

/// <summary>HTTPS settings (section <c>Tls</c>): a PEM certificate chain and its private key, reloaded when they change.</summary>
public sealed class TlsOptions
{
    public const string SectionName = "Tls";

    /// <summary>PEM file with the server certificate, optionally followed by its intermediates (a full chain, as certbot and cert-manager write it).</summary>
    public string? CertificatePath { get; set; }

    /// <summary>PEM file with the certificate's private key (PKCS#8, PKCS#1 or SEC1; not encrypted).</summary>
    public string? KeyPath { get; set; }

    public bool Enabled => !string.IsNullOrWhiteSpace(CertificatePath) || !string.IsNullOrWhiteSpace(KeyPath);
}
