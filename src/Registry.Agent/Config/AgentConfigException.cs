namespace Registry.Agent.Config;

/// <summary>A configuration the agent cannot start with; the message says which key and why.</summary>
public sealed class AgentConfigException : Exception
{
    public AgentConfigException()
    {
    }

    public AgentConfigException(string message)
        : base(message)
    {
    }

    public AgentConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
