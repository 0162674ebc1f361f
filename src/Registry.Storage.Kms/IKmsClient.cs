namespace Registry.Storage.Kms;

/// <summary>The two AWS KMS calls master keys need; <see cref="AwsKmsClient"/> makes them, tests stand in for it.</summary>
public interface IKmsClient
{
    /// <summary>Where the keys are, for messages (never credentials).</summary>
    string Description { get; }

    /// <summary>A new 256-bit key from KMS: its plaintext, and its ciphertext under <paramref name="kmsKeyId"/> bound to <paramref name="context"/>.</summary>
    Task<(byte[] Plaintext, byte[] Ciphertext)> GenerateDataKeyAsync(string kmsKeyId, IReadOnlyDictionary<string, string> context, CancellationToken cancellationToken);

    /// <summary>The plaintext of a ciphertext KMS made, given the same context.</summary>
    Task<byte[]> DecryptAsync(byte[] ciphertext, IReadOnlyDictionary<string, string> context, CancellationToken cancellationToken);
}
