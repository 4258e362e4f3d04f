from dataclasses import dataclass
@dataclass(frozen=True)
class CompiledPolicy:
    program: str
def compile_policy(p): return CompiledPolicy("")
