namespace Registry.Storage.Encryption;

/// <summary>What a master key id may be: it is written into every sealed blob's footer, so it is short and plain.</summary>
public static class MasterKeyIds
{
    public const int MaxLength = EncryptedBlobFormat.MaxKeyIdLength;

    public const string Rule = "an id of at most 47 letters, digits, '-', '_' or '.'";

    public static bool IsValid(string id) =>
        id.Length is > 0 and <= MaxLength && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}
