"""fastapi-users, set up the way its documentation shows (SQLAlchemy on SQLite, JWT bearer
transport), as the comparison for benches/run: the obvious alternative a user would try.

Deliberately fair rather than default: the same argon2id parameters as Latchkey (m=19456 KiB,
t=2, p=1; fastapi-users' default is argon2-cffi's heavier m=65536, t=3, p=4), and SQLite in WAL
mode so its two worker processes do not trip over each other's writes.

    DATABASE=/tmp/fu.db JWT_SECRET=... python app.py      # creates the tables, once
    DATABASE=/tmp/fu.db JWT_SECRET=... uvicorn app:app --workers 2
"""

import os
import uuid

from fastapi import Depends, FastAPI
from fastapi.responses import PlainTextResponse
from fastapi_users import BaseUserManager, FastAPIUsers, UUIDIDMixin, schemas
from fastapi_users.authentication import AuthenticationBackend, BearerTransport, JWTStrategy
from fastapi_users.db import SQLAlchemyBaseUserTableUUID, SQLAlchemyUserDatabase
from fastapi_users.password import PasswordHelper
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

SECRET = os.environ["JWT_SECRET"]
engine = create_async_engine(f"sqlite+aiosqlite:///{os.environ['DATABASE']}")


@event.listens_for(engine.sync_engine, "connect")
def _sqlite_pragmas(connection, _record):
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


sessions = async_sessionmaker(engine, expire_on_commit=False)


class Base(DeclarativeBase):
    pass


class User(SQLAlchemyBaseUserTableUUID, Base):
    pass


class UserRead(schemas.BaseUser[uuid.UUID]):
    pass


class UserCreate(schemas.BaseUserCreate):
    pass


async def create_tables():
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)


async def get_session():
    async with sessions() as session:
        yield session


async def get_user_db(session: AsyncSession = Depends(get_session)):
    yield SQLAlchemyUserDatabase(session, User)


password_helper = PasswordHelper(
    PasswordHash((Argon2Hasher(time_cost=2, memory_cost=19456, parallelism=1),))
)


class UserManager(UUIDIDMixin, BaseUserManager[User, uuid.UUID]):
    reset_password_token_secret = SECRET
    verification_token_secret = SECRET


async def get_user_manager(user_db=Depends(get_user_db)):
    yield UserManager(user_db, password_helper)


def get_jwt_strategy() -> JWTStrategy:
    return JWTStrategy(secret=SECRET, lifetime_seconds=3600)


backend = AuthenticationBackend(
    name="jwt",
    transport=BearerTransport(tokenUrl="auth/jwt/login"),
    get_strategy=get_jwt_strategy,
)
fastapi_users = FastAPIUsers[User, uuid.UUID](get_user_manager, [backend])

app = FastAPI()
app.include_router(fastapi_users.get_auth_router(backend), prefix="/auth/jwt")
app.include_router(fastapi_users.get_register_router(UserRead, UserCreate), prefix="/auth")
app.include_router(fastapi_users.get_users_router(UserRead, UserCreate), prefix="/users")


@app.get("/healthz", response_class=PlainTextResponse)
async def healthz():
    return "ok"


if __name__ == "__main__":
    # Before the workers start: two workers creating the tables at once would race.
    import asyncio

    asyncio.run(create_tables())
