namespace Registry.Scheduler.TaskDefinitions;

/// <summary>A task definition ECS would refuse, with ECS's error type (<c>ClientException</c>, <c>InvalidParameterException</c>).</summary>
public sealed class TaskDefinitionException : Exception
{
    public TaskDefinitionException(string type, string message)
        : base(message) => Type = type;

    public TaskDefinitionException()
    {
        Type = "ClientException";
    }

    public TaskDefinitionException(string message)
        : base(message) => Type = "ClientException";

    public TaskDefinitionException(string message, Exception innerException)
        : base(message, innerException) => Type = "ClientException";

    public string Type { get; }

    public static TaskDefinitionException Client(string message) => new("ClientException", message);
}
