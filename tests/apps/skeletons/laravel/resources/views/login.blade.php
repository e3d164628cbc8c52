@extends('layout')
@section('title', 'Log in')
@section('content')
<form method="post" action="{{ url('/login') }}" class="card">
@csrf
<label>Name <input type="text" name="name" required></label>
<button type="submit">Log in</button>
</form>
@endsection
